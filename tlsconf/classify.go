package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
)

// Failure classes of TLS handshakes, as counted in results.
const (
	// FailCertificate: the server's certificate did not verify (unknown
	// authority, wrong name, expired, ...).
	FailCertificate = "tls_certificate"
	// FailVersion: no protocol version in common.
	FailVersion = "tls_version"
	// FailTimeout: the TLS handshake did not finish within its timeout.
	FailTimeout = "tls_handshake_timeout"
	// FailAlertPrefix + the alert's name: the peer sent a fatal alert,
	// e.g. tls_alert_handshake_failure.
	FailAlertPrefix = "tls_alert_"
	// FailHandshake: any other handshake failure (a malformed message, a
	// connection closed mid-handshake is counted as eof instead).
	FailHandshake = "tls_handshake"
)

// alertNames are the TLS alert descriptions (RFC 8446 6, RFC 5246 7.2).
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 115: "unknown_psk_identity",
	116: "certificate_required", 120: "no_application_protocol", 121: "ech_required",
}

// AlertName names a TLS alert by its number.
func AlertName(a uint8) string {
	if n, ok := alertNames[a]; ok {
		return n
	}
	return "alert_" + string(rune('0'+a/100)) + string(rune('0'+a/10%10)) + string(rune('0'+a%10))
}

// Classify names the class of a TLS handshake error, or "" when err is
// not the handshake's own (a socket error, end of stream): the caller
// classifies those as for plain TCP.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return FailCertificate
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return FailTimeout
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return alertClass(uint8(ae))
	}
	// A received alert is a *net.OpError "remote error" around crypto/tls's
	// unexported alert type, a uint8.
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
			return alertClass(uint8(v.Uint()))
		}
	}
	var re tls.RecordHeaderError
	if errors.As(err, &re) {
		return FailHandshake
	}
	// Errors crypto/tls makes itself carry its "tls: " prefix and no
	// typed cause; among them, the versions that could not be agreed.
	if msg := err.Error(); strings.HasPrefix(msg, "tls: ") {
		if strings.Contains(msg, "version") {
			return FailVersion
		}
		return FailHandshake
	}
	return ""
}

func alertClass(a uint8) string {
	if a == 70 {
		return FailVersion
	}
	return FailAlertPrefix + AlertName(a)
}
