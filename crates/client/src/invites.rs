//! Invites as people pass them around: a bare code (`7KQ2-M9XD-…`), a `natter://invite` link
//! or a server's `https://…/invite/<code>` page. The sign-up forms of the app and the CLI take
//! any of them.

use url::Url;

/// What an invite says: the code, and the server it is for when it was a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub server: Option<Url>,
}

/// The longest code accepted from a form (the server's are 19 characters).
const CODE_MAX_CHARS: usize = 64;

fn plausible_code(code: &str) -> Option<String> {
    let code = code.trim();
    let plausible = !code.is_empty()
        && code.chars().count() <= CODE_MAX_CHARS
        && code
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | ' '));
    plausible.then(|| code.to_owned())
}

/// Reads an invite from what someone pasted or typed.
pub fn parse(input: &str) -> Option<Invite> {
    let input = input.trim();
    let Ok(url) = Url::parse(input) else {
        return plausible_code(input).map(|code| Invite { code, server: None });
    };
    match url.scheme() {
        "natter" => {
            // natter://invite?server=…&code=…
            if url.host_str() != Some("invite") {
                return None;
            }
            let query = |name: &str| {
                url.query_pairs()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
            };
            let code = plausible_code(&query("code")?)?;
            let server = query("server")
                .and_then(|server| Url::parse(&server).ok())
                .filter(|server| matches!(server.scheme(), "http" | "https"));
            Some(Invite { code, server })
        }
        "http" | "https" => {
            // https://chat.example.org/invite/CODE (the server may live under a path).
            let mut segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
            let code = plausible_code(segments.pop()?)?;
            if segments.pop() != Some("invite") {
                return None;
            }
            let mut server = url.clone();
            server.set_query(None);
            server.set_fragment(None);
            server.set_path(&format!("{}/", segments.join("/")));
            Some(Invite {
                code,
                server: Some(server),
            })
        }
        _ => None,
    }
}

/// Just the code, for the sign-up request.
pub fn code_from_input(input: &str) -> Option<String> {
    parse(input).map(|invite| invite.code)
}

/// The app link for an invite code on `server`.
pub fn app_link(server: &Url, code: &str) -> String {
    let mut link = Url::parse("natter://invite").unwrap_or_else(|_| unreachable!("a valid URL"));
    link.query_pairs_mut()
        .append_pair("server", server.as_str())
        .append_pair("code", code);
    link.to_string()
}

/// The server's web link for an invite code.
pub fn web_link(server: &Url, code: &str) -> String {
    crate::api::server_url(server, &format!("/invite/{code}")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_both_kinds_of_link_are_read() {
        assert_eq!(
            parse(" 7KQ2-M9XD-ABCD-EFGH "),
            Some(Invite {
                code: "7KQ2-M9XD-ABCD-EFGH".into(),
                server: None
            })
        );
        let server = Url::parse("https://chat.example.org/natter/").unwrap();
        let app = app_link(&server, "7KQ2-M9XD");
        assert_eq!(
            parse(&app),
            Some(Invite {
                code: "7KQ2-M9XD".into(),
                server: Some(server.clone())
            }),
            "{app}"
        );
        let web = web_link(&server, "7KQ2-M9XD");
        assert_eq!(web, "https://chat.example.org/natter/invite/7KQ2-M9XD");
        assert_eq!(
            parse(&web),
            Some(Invite {
                code: "7KQ2-M9XD".into(),
                server: Some(server)
            })
        );
        for refused in [
            "",
            "https://chat.example.org/other/7KQ2",
            "natter://call?user=x",
            "natter://invite?code=<script>",
            "ftp://x/invite/ABCD",
        ] {
            assert_eq!(parse(refused), None, "{refused}");
        }
    }
}
