//! Compiles `proto/wandb_internal.proto` with protox (no protoc needed) into prost types.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/wandb_internal.proto");
    let descriptors = protox::compile(["proto/wandb_internal.proto"], ["proto"])?;
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
