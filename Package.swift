// swift-tools-version: 6.1
import PackageDescription

/// The byte-level readers and writers run their loops on class state (buffers, positions);
/// Swift's dynamic exclusivity checks on those accesses cost a fifth of the read time. The
/// readers are single-threaded and never alias their state, so the checks are turned off there
/// (static checks still apply, and debug builds — the tests — keep the dynamic ones too).
/// See Benchmarks/README.md, formats.
let hotLoops: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // TLS and HTTP/2 for the simulator: both are already built for AsyncHTTPClient (naming
        // them costs no compile time). Certificates are made by openssl(1), not swift-crypto,
        // which would compile a second BoringSSL on every CI run.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System libraries: module.modulemap + shim.h; `.ci/run` installs the -dev packages.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),

        /// Ordered, strict JSON values: shared by formats, wire types and the simulator.
        .target(name: "SluiceJSON", swiftSettings: hotLoops),
        /// Byte sources, record readers and writers. Knows nothing of prompts or HTTP.
        .target(name: "SluiceFormats", dependencies: ["SluiceJSON", "CZlib", "CLibXML2"], swiftSettings: hotLoops),
        /// The readers' fuzz targets: libFuzzer builds them with `Fuzz/fuzz.sh`; the tests replay
        /// the crashes they found (`Fuzz/Crashes`).
        .target(name: "SluiceFuzz", dependencies: ["SluiceFormats", "SluiceJSON"]),
        /// The provider-neutral vocabulary: requests, answers, usage, tiers, error kinds, and the
        /// `ModelClient` / `PriceBook` protocols the Engine calls. Pure: no I/O.
        .target(name: "SluiceModel", dependencies: ["SluiceJSON"]),
        /// Gemini's two surfaces behind `ModelClient`: wire format, client, prices. Knows nothing of files.
        .target(name: "SluiceGemini", dependencies: [
            "SluiceJSON", "SluiceModel",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// Child processes by posix_spawn, awaited off the cooperative pool (Foundation's
        /// `Process` crashes now and then on this toolchain: see `ChildProcess`).
        .target(name: "SluiceSpawn"),
        /// Local Gemini Flex simulator: both API surfaces, Flex queueing model, faults, stats.
        .target(name: "SluiceSimulator", dependencies: [
            "SluiceJSON", "SluiceSpawn",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// The job's SQLite journal: fingerprint, record states and answers, group commit,
        /// input identity. Knows nothing of prompts, providers or flags.
        .target(name: "SluiceJournal", dependencies: ["SluiceJSON", "CSQLite"]),
        /// Templates, dispatcher, passes, merge, report. Names no provider and no flag.
        .target(name: "SluiceEngine", dependencies: [
            "SluiceJSON", "SluiceFormats", "SluiceModel", "SluiceJournal",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// The CLI: parse, validate, call the engine, report.
        .executableTarget(name: "sluice", dependencies: [
            "SluiceEngine", "SluiceSimulator", "SluiceGemini", "SluiceModel", "SluiceJournal", "SluiceFormats",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        /// Helpers the test suites share (running commands off the cooperative pool).
        .target(name: "SluiceTestSupport", dependencies: ["SluiceSpawn"], path: "Tests/SluiceTestSupport"),
        .testTarget(name: "SluiceJSONTests", dependencies: ["SluiceJSON"]),
        .testTarget(name: "SluiceFormatsTests", dependencies: ["SluiceFormats", "SluiceJSON", "SluiceFuzz", "SluiceTestSupport"]),
        .testTarget(name: "SluiceEngineTests", dependencies: ["SluiceEngine", "SluiceFormats", "SluiceModel", "SluiceJournal", "SluiceJSON", "SluiceTestSupport"]),
        .testTarget(name: "SluiceJournalTests", dependencies: ["SluiceJournal"]),
        .testTarget(name: "SluiceGeminiTests", dependencies: ["SluiceGemini", "SluiceModel", "SluiceJSON"]),
        .testTarget(name: "SluiceModelTests", dependencies: ["SluiceModel", "SluiceJSON"]),
        /// Runs the built `sluice` binary against the in-process simulator.
        .testTarget(name: "SluiceEndToEndTests", dependencies: ["sluice", "SluiceSimulator", "SluiceSpawn", "SluiceEngine", "SluiceJournal", "SluiceFormats", "SluiceJSON", "SluiceTestSupport"]),
        .testTarget(name: "SluiceSimulatorTests", dependencies: [
            "SluiceSimulator", "SluiceJSON", "SluiceTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
