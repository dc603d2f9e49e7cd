// Generated from Themes/*.theme (a test checks they match): the fallback when no theme
// folder is found, so an installed binary on its own still has its three themes.
enum BuiltinThemes {
    static let names = ["default", "light", "contrast"]
    static let text: [String: String] = [
        "default": #"""
        # restyle theme: default (dark)
        #
        # One `key = colour` per line; `#` starts a comment. A colour is #rrggbb or the word
        # `default` (the terminal's own foreground/background). Keys left out fall back to this
        # file's values, so a theme may set only what it changes. Colours are mapped to the
        # nearest the terminal can show (truecolor, 256, 16); monochrome terminals use bold and
        # reverse instead.
        #
        #   background       screen background
        #   foreground       ordinary text
        #   border           pane borders
        #   title            pane titles in the borders
        #   accent           key names in hints, highlighted numbers
        #   dim              secondary text, axis labels
        #   total            loss chart: total loss
        #   content          loss chart: α·content
        #   style            loss chart: β·style
        #   tv               loss chart: γ·TV
        #   mark             loss chart: settings-change marks
        #   slider_bar       filled part of a slider bar
        #   slider_empty     unfilled part of a slider bar
        #   slider_selected  the selected slider's label
        #   status_bg        status bar background
        #   status_fg        status bar text
        #   warning          paused state, confirmations
        #   error            errors
        
        background      = default
        foreground      = #d0d0d0
        border          = #5f6f8f
        title           = #87afff
        accent          = #ffd75f
        dim             = #808080
        total           = #ffffff
        content         = #5fd7ff
        style           = #ff87d7
        tv              = #afd75f
        mark            = #ff8700
        slider_bar      = #5fafff
        slider_empty    = #3a3a3a
        slider_selected = #ffd75f
        status_bg       = #303a4a
        status_fg       = #e4e4e4
        warning         = #ffaf00
        error           = #ff5f5f
        """#,
        "light": #"""
        # restyle theme: light — dark text on a light background. Keys are described in default.theme.
        background      = #f5f5f0
        foreground      = #262626
        border          = #8a8a9a
        title           = #005faf
        accent          = #af5f00
        dim             = #6c6c6c
        total           = #000000
        content         = #0087af
        style           = #af0087
        tv              = #5f8700
        mark            = #d75f00
        slider_bar      = #0087d7
        slider_empty    = #d0d0d0
        slider_selected = #af5f00
        status_bg       = #d7dce8
        status_fg       = #1c1c1c
        warning         = #af5f00
        error           = #d70000
        """#,
        "contrast": #"""
        # restyle theme: contrast — only the eight basic ANSI colours at full strength, so it
        # reads the same on 16-colour terminals; monochrome terminals get bold/reverse anyway.
        # Keys are described in default.theme.
        background      = #000000
        foreground      = #ffffff
        border          = #ffffff
        title           = #ffff00
        accent          = #00ffff
        dim             = #c0c0c0
        total           = #ffffff
        content         = #00ffff
        style           = #ff00ff
        tv              = #00ff00
        mark            = #ffff00
        slider_bar      = #00ffff
        slider_empty    = #808080
        slider_selected = #ffff00
        status_bg       = #0000ff
        status_fg       = #ffffff
        warning         = #ffff00
        error           = #ff0000
        """#,
    ]
}
