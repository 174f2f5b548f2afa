/// The system's allocator, which gives back a reserve of address space
/// when an allocation fails, so that the view can end cleanly (see
/// `causeway::memory`).
#[global_allocator]
static ALLOC: causeway::memory::Parachute = causeway::memory::Parachute;

fn main() {
    std::process::exit(causeway::cli::main());
}
