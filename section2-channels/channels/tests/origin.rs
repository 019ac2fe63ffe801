//! The `Origin` check: a page from another site may not open a WebSocket here (403);
//! the server's own pages, allowed origins and clients that send no `Origin` (not a
//! browser) may. Real upgrades over loopback: the check runs before the upgrade.

mod support;

use std::sync::{Arc, Mutex};

use channels::telemetry::{TelemetryEvent, TelemetryHandler};
use channels::{ChannelRouter, CheckOrigin, Endpoint, Server};
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, http};

/// Why refusals were told to telemetry.
#[derive(Clone, Default)]
struct Refusals(Arc<Mutex<Vec<String>>>);

impl TelemetryHandler for Refusals {
    fn handle(&self, event: &TelemetryEvent<'_>) {
        if let TelemetryEvent::SocketRefused { reason } = event {
            self.0.lock().unwrap().push(reason.to_string());
        }
    }
}

async fn serve(check: Option<CheckOrigin>, refusals: &Refusals) -> (Endpoint, Server) {
    let mut builder = Endpoint::builder(ChannelRouter::new().channel::<OrdersChannel>("orders:*"))
        .handler(connect)
        .telemetry(Arc::new(refusals.clone()));
    // `None`: what an endpoint does when nobody configures it.
    if let Some(check) = check {
        builder = builder.check_origin(check);
    }
    let endpoint = builder.build();
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    (endpoint, server)
}

/// Opens the socket as a page from `origin` would (`None`: a client that sends no
/// `Origin`, like phoenix.js on node); `Ok(())` if it opened, else the status and body.
async fn open_from(server: &Server, origin: Option<&str>) -> Result<(), (u16, String)> {
    let mut request = server
        .socket_url("/socket", &[("user", "ada")])
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert(http::header::ORIGIN, origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Err((
                response.status().as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
        Err(other) => panic!("the upgrade failed otherwise: {other}"),
    }
}

#[tokio::test]
async fn by_default_the_servers_own_pages_may_connect_and_others_get_403() {
    let refusals = Refusals::default();
    let (_endpoint, server) = serve(None, &refusals).await;
    let own = format!("http://{}", server.addr());
    assert_eq!(
        open_from(&server, Some(&own)).await,
        Ok(()),
        "a page it served"
    );

    let (status, body) = open_from(&server, Some("https://evil.example"))
        .await
        .expect_err("a page from another site");
    assert_eq!(status, 403);
    assert!(
        body.contains("origin https://evil.example is not allowed"),
        "the body names the origin: {body}"
    );
    // Same host, another port: another origin (another server's pages).
    let other_port = format!("http://127.0.0.1:{}", server.addr().port() + 1);
    assert_eq!(
        open_from(&server, Some(&other_port)).await.unwrap_err().0,
        403
    );
    // A sandboxed page or a file: URL.
    assert_eq!(open_from(&server, Some("null")).await.unwrap_err().0, 403);
    assert_eq!(*refusals.0.lock().unwrap(), ["origin", "origin", "origin"]);
}

#[tokio::test]
async fn a_client_without_an_origin_is_not_a_browser_page_and_may_connect() {
    let refusals = Refusals::default();
    let (_endpoint, server) = serve(None, &refusals).await;
    assert_eq!(open_from(&server, None).await, Ok(()));
    // Its other checks still apply: the socket handler refuses a blocked user.
    let blocked = server.socket_url("/socket", &[("user", "blocked")]);
    assert!(
        channels::client::ChannelClient::connect(&blocked)
            .await
            .is_err()
    );
    assert_eq!(*refusals.0.lock().unwrap(), ["user blocked"]);
}

#[tokio::test]
async fn an_allow_list_admits_its_origins_only_with_wildcard_subdomains() {
    let refusals = Refusals::default();
    let check = CheckOrigin::from_flags(&["https://app.example.com", "//*.example.org"]).unwrap();
    let (_endpoint, server) = serve(Some(check), &refusals).await;
    for allowed in [
        "https://app.example.com",
        "https://eu.example.org",
        "http://eu.example.org:8080",
    ] {
        assert_eq!(open_from(&server, Some(allowed)).await, Ok(()), "{allowed}");
    }
    for refused in [
        "http://app.example.com",
        "https://example.org",
        "https://example.org.evil.example",
        // The list replaces the same-host rule, as in Phoenix.
        &format!("http://{}", server.addr()),
    ] {
        let (status, body) = open_from(&server, Some(refused)).await.unwrap_err();
        assert_eq!(status, 403, "{refused}");
        assert!(body.contains("not in the allowed origins"), "{body}");
    }
    assert_eq!(open_from(&server, None).await, Ok(()));
}

#[tokio::test]
async fn off_lets_every_origin_in() {
    let refusals = Refusals::default();
    let (_endpoint, server) = serve(Some(CheckOrigin::Off), &refusals).await;
    assert_eq!(
        open_from(&server, Some("https://evil.example")).await,
        Ok(())
    );
    assert!(refusals.0.lock().unwrap().is_empty());
}
