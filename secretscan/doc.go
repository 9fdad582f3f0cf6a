// Package secretscan is a GitHub secret-scanning partner endpoint for the
// keys of a service built with github.com/apikit/apikey: when GitHub finds
// one of your customers' keys in a public repository, gist or package, it
// posts it here, and the [Handler] revokes it before anyone uses it.
//
// # What the handler does
//
// For each request, in this order, and with nothing changed until the
// signature is verified:
//
//   - it refuses anything but a POST of application/json (405, 415), a
//     request without the Github-Public-Key-Identifier and
//     Github-Public-Key-Signature headers (401), and a body over the limit
//     of [WithMaxBodyBytes] (413);
//   - it verifies the ECDSA P-256 signature of the raw body with the public
//     key GitHub names, from a [PublicKeySource] (401 for an unknown key or
//     a wrong signature, 503 when the keys cannot be fetched);
//   - it decodes the body, a JSON array of {token, type, url, source} (400
//     if it is not one);
//   - for each token, it checks the checksum ([apikey.ParseKey]) and asks
//     the Manager to identify the key ([apikey.Manager.Identify], which
//     checks the secret against the stored hash): a token that fails either
//     is a false positive, and nothing is changed for it;
//   - for a genuine key, it applies the [Policy] (by default it deactivates
//     the key) and calls the hook of [WithHook] with the key's record and
//     where the token was found;
//   - it answers 200 with a JSON array of {token_hash, token_type, label},
//     label being "true_positive" or "false_positive", the feedback GitHub
//     accepts. It answers with the SHA-256 of each token, never the token.
//
// If the key store fails, it answers 503 and GitHub sends the alert again;
// deactivating twice is harmless.
//
// # What it never does
//
// It never logs, returns or passes to the hook a reported token: the hook
// sees the key's record (whose preview is safe to show) and the URL of the
// leak. It never deactivates a key for a token whose secret is wrong, so
// that a forged token with a known lookup ID cannot revoke a customer's key.
//
// # Caller's duties
//
// Mount the handler at the URL you give GitHub when you join the partner
// program, over HTTPS, without authentication middleware in front of it
// (GitHub signs requests; it does not send API keys). Tell your customer in
// the hook: the key stops working, and they must rotate it. Once the key
// has an audit trail, the hook is the place to record the alert.
package secretscan
