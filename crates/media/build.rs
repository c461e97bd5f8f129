//! On Windows with the GNU toolchain (mingw-w64), OpenH264's C++ needs the C++ runtime, which
//! its build links by name (`-lstdc++`). The linker would take mingw's import library and the
//! .exe would need `libstdc++-6.dll`, which no Windows machine has. A folder holding only the
//! static `libstdc++.a` is put first on the search path, so the same name links the runtime
//! into the .exe instead. Nothing to do for other targets (MSVC links its own runtime).

use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os != "windows" || target_env != "gnu" {
        return;
    }
    let compiler = cc::Build::new().cpp(true).get_compiler();
    let printed = Command::new(compiler.path())
        .arg("-print-file-name=libstdc++.a")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", compiler.path().display()));
    let static_runtime = PathBuf::from(String::from_utf8_lossy(&printed.stdout).trim());
    // The compiler prints the bare name when it has no such file.
    assert!(
        static_runtime.is_absolute() && static_runtime.is_file(),
        "{} has no static libstdc++.a (printed {static_runtime:?}); install mingw-w64's g++",
        compiler.path().display()
    );
    let folder =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("static-cxx");
    fs::create_dir_all(&folder).expect("the output folder can be made");
    fs::copy(&static_runtime, folder.join("libstdc++.a")).expect("libstdc++.a can be copied");
    println!("cargo:rustc-link-search=native={}", folder.display());
}
