//! The `scimgate` command line.

fn main() {
    eprintln!("scimgate: the command line is being assembled");
}
