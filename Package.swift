// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "restyle",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "restyle", targets: ["TUI"]),
        .library(name: "Core", targets: ["Core"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries, each behind a module map so Swift can import it.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CNcurses", pkgConfig: "ncursesw",
                       providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CChafa", pkgConfig: "chafa",
                       providers: [.apt(["libchafa-dev", "libglib2.0-dev"])]),
        // libpng and libjpeg report errors by longjmp, which Swift cannot catch;
        // this small C target owns the setjmp and hands back an error string.
        // A module map's `link` only reaches Swift importers (autolinking), so the C
        // code that calls these libraries names them itself.
        .target(name: "CImageIO", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Writers for the image variants the decoder must accept, which restyle itself never makes.
        .target(name: "CImageIOTestSupport", dependencies: ["CPNG", "CJPEG"], path: "Tests/CImageIOTestSupport",
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // The hand-written AVX2 + FMA kernels (the Winograd products). Built for the baseline CPU like
        // everything else: each function carries its own target attribute, chosen at run time.
        .target(name: "CKernels"),
        // Checked arithmetic everywhere: this code reads files, and an overflow must trap, never wrap.
        .target(name: "Core", dependencies: ["CBLAS", "CImageIO", "CKernels"]),
        .executableTarget(name: "TUI",
                          dependencies: ["Core", "CNcurses", "CChafa",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "CoreTests", dependencies: ["Core", "CImageIOTestSupport"],
                    resources: [.copy("Data")]),
        .testTarget(name: "TUITests", dependencies: ["TUI"]),
    ],
    swiftLanguageModes: [.v6]
)
