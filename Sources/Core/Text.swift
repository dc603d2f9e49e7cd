/// Untrusted text on its way to a terminal: file names, option values, lines of a file.
public enum Text {
    /// Control characters (C0, DEL, C1) as visible escapes, as `ls` shows odd file names: a name holding
    /// `ESC ] 0 ; … BEL` must print as text, not retitle or clear the user's terminal. Idempotent, since
    /// the escapes are themselves printable.
    public static func escaped<S: StringProtocol>(_ s: S) -> String {
        var out = String.UnicodeScalarView()
        var changed = false
        for u in s.unicodeScalars {
            let v = u.value
            if v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) {
                changed = true
                let named: String
                switch v {
                case 0x09: named = "\\t"
                case 0x0A: named = "\\n"
                case 0x0D: named = "\\r"
                case 0x1B: named = "\\e"
                default: named = v < 0x100 ? "\\x" + hex2(v) : "\\u{\(String(v, radix: 16))}"
                }
                out.append(contentsOf: named.unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return changed ? String(out) : String(s)
    }

    private static func hex2(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return h.count < 2 ? "0" + h : h
    }
}
