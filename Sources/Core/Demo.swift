/// The built-in demo pair: images `make setup` takes out of the scikit-image wheel into $RESTYLE_HOME/demo.
/// The astronaut under the Hubble Deep Field reads well even at 256 px: a clear subject, a loud style.
public enum Demo {
    public static let content = "astronaut.png"
    public static let style = "hubble_deep_field.jpg"
    public static func path(_ name: String) -> String { VGGWeights.home + "/demo/" + name }
}
