public enum Restyle {
    public static let version = "0.1.0"
}
