//! The Fluent Bit config readers (classic and YAML) and their translation and checks, on
//! arbitrary text: never panic, never loop. The text is also an included file, so includes and
//! their cycles are exercised.
#![no_main]

use std::io;
use std::path::Path;

use firelane::config::fluentbit::doc::Files;
use firelane::config::fluentbit::{FbFormat, load};
use libfuzzer_sys::fuzz_target;

struct One(String);

impl Files for One {
    fn read(&self, path: &Path) -> io::Result<String> {
        match path.to_str() {
            Some("/f/main.conf" | "/f/inc.conf" | "/f/main.yaml" | "/f/inc.yaml") => {
                Ok(self.0.clone())
            }
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such file")),
        }
    }

    fn list(&self, _dir: &Path) -> io::Result<Vec<String>> {
        Ok(vec!["inc.conf".into(), "inc.yaml".into(), "main.conf".into()])
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let files = One(text);
    let env = |name: &str| (name == "HOME").then(|| "/root".to_owned());
    let _ = load(Path::new("/f/main.conf"), FbFormat::Classic, &files, &env);
    let _ = load(Path::new("/f/main.yaml"), FbFormat::Yaml, &files, &env);
});
