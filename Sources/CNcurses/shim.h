// SwiftPM drops the -D_XOPEN_SOURCE that ncursesw's pkg-config asks for, so the
// wide-character API (cchar_t, setcchar, wadd_wch) must be switched on here.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <ncurses.h>

// ncurses' globals are mutable C variables, which Swift 6 will not read without proof of safety. They
// are only ever used from the UI thread, through these accessors.
static inline WINDOW *restyle_stdscr(void) { return stdscr; }
static inline WINDOW *restyle_curscr(void) { return curscr; }
static inline int restyle_colors(void) { return COLORS; }
static inline int restyle_color_pairs(void) { return COLOR_PAIRS; }
static inline FILE *restyle_stdin(void) { return stdin; }
