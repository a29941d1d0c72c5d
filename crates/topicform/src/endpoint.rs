//! A small HTTP endpoint for what runs until stopped: the controller's
//! probes and `lag --serve`'s `/metrics`. Each answer is computed from
//! state in memory, so the server is hyper's HTTP/1 connection loop and a
//! function from path to response; no framework.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Error, Result};

/// What answers a path.
pub type Respond = Arc<dyn Fn(&str) -> Response<Full<Bytes>> + Send + Sync>;

/// Serves `respond` on `addr` (`what` names the endpoint in the log and in
/// the error when the address is taken) until the handle is dropped.
pub async fn serve(addr: SocketAddr, what: &str, respond: Respond) -> Result<AbortOnDrop> {
    let listener = TcpListener::bind(addr).await.map_err(|source| Error::Write {
        what: format!("{what} on {addr} (is another process listening there?)"),
        source,
    })?;
    tracing::info!(addr = %listener.local_addr().unwrap_or(addr), "serving {what}");
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let respond = respond.clone();
            tokio::spawn(async move {
                let answer = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let respond = respond.clone();
                    async move { Ok::<_, Infallible>(respond(req.uri().path())) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), answer).await;
            });
        }
    });
    Ok(AbortOnDrop(server))
}

/// A response with `status`, `body` and its content type.
pub fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Stops the server when dropped.
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
