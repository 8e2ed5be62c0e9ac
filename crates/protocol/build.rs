//! Compiles `proto/sluice/v1/*.proto` into Rust types with protox (pure Rust,
//! so no `protoc` is needed on the machine) and prost-build.

use std::{fs, io, path::PathBuf};

/// The proto root, relative to this crate; imports are resolved against it.
const PROTO_ROOT: &str = "../../proto";
/// The package directory under the root; every `.proto` in it is compiled.
const PACKAGE_DIR: &str = "sluice/v1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let package_dir = PathBuf::from(PROTO_ROOT).join(PACKAGE_DIR);
    println!("cargo:rerun-if-changed={}", package_dir.display());

    let mut files = Vec::new();
    for entry in fs::read_dir(&package_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no .proto files found").into());
    }
    // Sorted so the generated code does not depend on directory order.
    files.sort();

    let fds = protox::compile(&files, [PROTO_ROOT])?;
    prost_build::Config::new()
        // `bytes` fields decode as `Bytes` slices of the frame buffer: a
        // produce request's batches are never copied.
        .bytes(["."])
        .compile_fds(fds)?;
    Ok(())
}
