/* libFuzzer's entry points that a Swift harness calls (they are in the libFuzzer runtime that
 * -sanitize=fuzzer links), declared for Swift's C importer so the calls use the C convention. */
#ifndef RESTYLE_CFUZZER_H
#define RESTYLE_CFUZZER_H
#include <stddef.h>
#include <stdint.h>

/* The built-in mutators (with -dict tokens): mutates data[0..<size] in place, at most max_size bytes. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#endif
