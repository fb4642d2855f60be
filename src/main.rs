fn main() {
    std::process::exit(ecr_doctor::cli::main());
}
