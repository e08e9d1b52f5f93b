//! Building responses: the service's error XML, XML escaping and CDATA,
//! and the `x-odps-request-id` header every answer carries.
//!
//! It does not decide which error a request gets; handlers do. The one
//! idea: one [`OdpsError`] type is the only way an error leaves the
//! emulator, so every refusal has the real shape (`Code`, `Message`,
//! `RequestId`, `HostId`).

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};

/// The `HostId` the emulator reports.
pub const HOST_ID: &str = "maxcompute-emulator.local";

/// An error answered in the service's XML shape.
#[derive(Debug, Clone)]
pub struct OdpsError {
    /// HTTP status.
    pub status: u16,
    /// `<Code>`.
    pub code: &'static str,
    /// `<Message>`, usually `ODPS-xxxxxxx:...`.
    pub message: String,
}

impl OdpsError {
    /// An error with the given status, code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> OdpsError {
        OdpsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 `NoSuchObject`.
    pub fn not_found(message: impl Into<String>) -> OdpsError {
        OdpsError::new(404, "NoSuchObject", message)
    }

    /// 400 `InvalidArgument`.
    pub fn invalid(message: impl Into<String>) -> OdpsError {
        OdpsError::new(400, "InvalidArgument", message)
    }

    /// The HTTP response, with a fresh request id in body and header.
    pub fn into_response(self) -> Response<Body> {
        let request_id = new_request_id();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId><HostId>{}</HostId></Error>",
            self.code,
            cdata(&self.message),
            request_id,
            HOST_ID
        );
        let mut resp = respond(self.status, "application/xml", body.into_bytes());
        set_header(&mut resp, "x-odps-request-id", &request_id);
        resp
    }
}

/// A request id in the service's style (hex, time-ordered enough).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

/// A response with status, content type and body, plus a request id.
pub fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set_header(&mut resp, "content-type", content_type);
    set_header(&mut resp, "x-odps-request-id", &new_request_id());
    resp
}

/// 200 with an XML body.
pub fn xml(body: String) -> Response<Body> {
    respond(
        200,
        "application/xml",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}").into_bytes(),
    )
}

/// Set a header, skipping values that are not valid header text (the
/// emulator only sets values it built itself).
pub fn set_header(resp: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Escape text for an XML element or attribute.
pub fn esc(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Wrap text in CDATA, splitting any `]]>` inside it.
pub fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// An RFC 1123 date as the service writes it.
pub fn rfc1123(epoch_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_seconds, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
