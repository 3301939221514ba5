//! `irqlab completions` and `irqlab manpage`: shell completion scripts and
//! roff manual pages, generated from the same clap definition that parses
//! the command line (clap_complete, clap_mangen), so they cannot drift from
//! the real options.

use super::Failure;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab completions`.
#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for, e.g. `irqlab completions bash >
    /// ~/.local/share/bash-completion/completions/irqlab`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `irqlab manpage`.
#[derive(Args, Debug, Clone)]
pub struct ManpageArgs {
    /// Write `irqlab.1` and one `irqlab-COMMAND.1` per subcommand into DIR
    /// (created if missing) instead of printing `irqlab.1`.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `irqlab completions SHELL`: the script on standard output.
pub fn completions(a: &CompletionsArgs, mut command: clap::Command, out: &mut dyn Write) -> Result<(), Failure> {
    let name = command.get_name().to_string();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut command, name, &mut buf);
    out.write_all(&buf)?;
    Ok(())
}

/// `irqlab manpage`: `irqlab.1` on standard output, or every page into a
/// directory.
pub fn manpage(a: &ManpageArgs, command: clap::Command, out: &mut dyn Write) -> Result<(), Failure> {
    match &a.out {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(command).render(&mut buf)?;
            out.write_all(&buf)?;
        }
        Some(dir) => {
            let cannot =
                |e: std::io::Error| Failure::Io(format!("cannot write manual pages into {}: {e}", dir.display()));
            std::fs::create_dir_all(dir).map_err(cannot)?;
            clap_mangen::generate_to(command, dir).map_err(cannot)?;
            let pages = std::fs::read_dir(dir).map_err(cannot)?.count();
            super::note(format_args!("manpage: {pages} pages in {}", dir.display()));
        }
    }
    Ok(())
}
