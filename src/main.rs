fn main() {
    std::process::exit(causeway::cli::main());
}
