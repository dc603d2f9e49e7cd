// SwiftPM drops the -D_XOPEN_SOURCE that ncursesw's pkg-config asks for, so the
// wide-character API (cchar_t, setcchar, wadd_wch) must be switched on here.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <ncurses.h>
