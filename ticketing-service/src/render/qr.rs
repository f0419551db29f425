//! QR codes of ticket payloads.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
#[error("failed to encode a QR code: {0}")]
pub struct QrError(String);

fn encode(payload: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// An SVG image of the QR code.
pub fn svg(payload: &str) -> Result<String, QrError> {
    Ok(encode(payload)?
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// The modules of the QR code, row by row: `true` is dark. Returns the width too.
pub fn modules(payload: &str) -> Result<(usize, Vec<bool>), QrError> {
    let code = encode(payload)?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((code.width(), dark))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_becomes_an_svg_and_a_square_of_modules() {
        let payload = "AbCdEfGhIjKlMnOpQrStUv.signature-of-eighty-six-characters";
        let image = svg(payload).unwrap();
        assert!(image.starts_with("<?xml") && image.contains("<svg"));
        let (width, dark) = modules(payload).unwrap();
        assert_eq!(dark.len(), width * width);
        assert!(dark.iter().any(|d| *d) && dark.iter().any(|d| !*d));
    }
}
