// Shared by the kernel files: the target attribute every AVX2 function carries (the package builds for
// the baseline x86-64, so each function asks for AVX2 and FMA itself and is called only after
// restyle_kernels_available()).
#ifndef RESTYLE_AVX2_H
#define RESTYLE_AVX2_H

#include <immintrin.h>

#define KERNEL_TARGET __attribute__((target("avx2,fma")))

#endif
