/**
 * A test-only key pair for the TLS fault server: a self-signed P-256 certificate for 127.0.0.1, valid for a
 * century so that no test starts failing for its age. Made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj /CN=127.0.0.1
 * -addext subjectAltName=IP:127.0.0.1`. It protects nothing: its whole point is that no client trusts it.
 */
export const SELF_SIGNED = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgodISBq6LPDK859b+
oCMahDsPf1DM0EDkXxDyEVzQ7/GhRANCAAQao6TTx878g6AqEsSUSnizErh0AB2s
GASk9LgnsQEssdvtq4ylR6RthfHy6NHCXyPdNp6QKz0ZzbE0NsOXK5ZG
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIURkXF7Jjpy9fnI252BGD6K5wq6C4wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNzEwNDQwNFoYDzIxMjYxMTAz
MTA0NDA0WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQao6TTx878g6AqEsSUSnizErh0AB2sGASk9LgnsQEssdvtq4ylR6Rt
hfHy6NHCXyPdNp6QKz0ZzbE0NsOXK5ZGo2QwYjAdBgNVHQ4EFgQU0r9a+bcTXpRD
NL2MHNelFO8CntUwHwYDVR0jBBgwFoAU0r9a+bcTXpRDNL2MHNelFO8CntUwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
ICnOP8p9qo5TY7CNuDkCGTKJqdDjlwZ2zGvuQYCv0wosAiEAvBizHbTGmSZKDxN2
ZO+HmuxeMzVNdqSFNMM98+N4Nic=
-----END CERTIFICATE-----
`,
} as const
