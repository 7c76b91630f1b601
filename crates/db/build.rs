//! Counts the migration directories, so tests can check that every one was applied.

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let count = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("up.sql").exists())
        .count();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?);
    std::fs::write(out.join("migrations_count.rs"), count.to_string())
}
