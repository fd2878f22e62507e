"""Mozilla's server-side TLS profiles, which the TLS rules judge a handshake against."""

# Mozilla Server Side TLS 5.7: the suites each profile allows (the TLS 1.3 suites are
# OpenSSL's defaults, AES-GCM and ChaCha20).
MOZILLA_TLS13 = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                           "TLS_CHACHA20_POLY1305_SHA256"})
MOZILLA_INTERMEDIATE = MOZILLA_TLS13 | frozenset({
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
})
PROFILES = {
    "intermediate": {"min_protocol": "TLSv1.2", "suites": MOZILLA_INTERMEDIATE},
    "modern": {"min_protocol": "TLSv1.3", "suites": MOZILLA_TLS13},
}
