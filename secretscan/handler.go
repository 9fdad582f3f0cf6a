package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/apikit/apikey"
)

// The headers GitHub signs alerts with.
const (
	HeaderKeyIdentifier = "Github-Public-Key-Identifier"
	HeaderKeySignature  = "Github-Public-Key-Signature"
)

// Labels of the feedback a Handler answers with.
const (
	LabelTruePositive  = "true_positive"
	LabelFalsePositive = "false_positive"
)

// maxHeaderBytes bounds the signature headers: a P-256 signature is at most
// 72 bytes of DER, 96 in base64; GitHub's key identifiers are 64 hex digits.
const maxHeaderBytes = 512

// Handler is the http.Handler of a secret-scanning partner endpoint. Build
// it with NewHandler; it is safe for concurrent use.
type Handler struct {
	m    *apikey.Manager
	keys PublicKeySource
	config
}

// NewHandler returns a Handler that identifies reported tokens with m and
// verifies signatures with the keys of source (usually a *GitHubKeys).
func NewHandler(m *apikey.Manager, source PublicKeySource, opts ...Option) (*Handler, error) {
	if m == nil {
		return nil, errors.New("secretscan: NewHandler: nil Manager")
	}
	if source == nil {
		return nil, errors.New("secretscan: NewHandler: nil PublicKeySource")
	}
	c := config{policy: Deactivate, maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.logger == nil {
		c.logger = m.Logger()
	}
	return &Handler{m: m, keys: source, config: c}, nil
}

// match is one token GitHub reports.
type match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Format keeps the token out of any print of a match.
func (m match) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{type:%s url:%s source:%s}", m.Type, m.URL, m.Source)
}

// feedback is GitHub's format for the label of one token. The token is
// named by its SHA-256, which GitHub accepts in place of the raw token, so
// that no response ever carries a customer's key.
type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		h.refuse(w, r, http.StatusUnsupportedMediaType, "content type is not application/json")
		return
	}
	keyID, sig := r.Header.Get(HeaderKeyIdentifier), r.Header.Get(HeaderKeySignature)
	if keyID == "" || sig == "" || len(keyID) > maxHeaderBytes || len(sig) > maxHeaderBytes {
		h.refuse(w, r, http.StatusUnauthorized, "missing or oversized signature headers")
		return
	}
	signature, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "signature is not base64")
		return
	}
	if r.ContentLength > h.maxBody {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "body over the limit")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, "body over the limit")
			return
		}
		h.refuse(w, r, http.StatusBadRequest, "body could not be read")
		return
	}
	pub, err := h.keys.PublicKey(ctx, keyID)
	switch {
	case errors.Is(err, ErrUnknownKeyID):
		h.refuse(w, r, http.StatusUnauthorized, "unknown public key identifier")
		return
	case err != nil:
		h.unavailable(w, r, "public keys unavailable", err)
		return
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], signature) {
		h.refuse(w, r, http.StatusUnauthorized, "bad signature")
		return
	}
	var matches []match
	if err := json.Unmarshal(body, &matches); err != nil || matches == nil {
		h.refuse(w, r, http.StatusBadRequest, "body is not a JSON array of matches")
		return
	}
	answer := make([]feedback, len(matches))
	for i, mt := range matches {
		label, err := h.handle(ctx, mt)
		if err != nil {
			h.unavailable(w, r, "key store failure", err)
			return
		}
		sum := sha256.Sum256([]byte(mt.Token))
		answer[i] = feedback{TokenHash: hex.EncodeToString(sum[:]), TokenType: mt.Type, Label: label}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(answer)
}

// ActorName names the handler's changes in the audit trail (see
// [apikey.Event]): the deactivation of a key GitHub found in public.
const ActorName = "GitHub secret scanning"

// foundAt is the reason of a deactivation: where GitHub found the key.
func foundAt(mt match) string {
	switch {
	case mt.URL != "":
		return "found at " + mt.URL
	case mt.Source != "":
		return "found in public (" + mt.Source + ")"
	}
	return "found in public"
}

// handle identifies one reported token, applies the policy to a genuine key
// and calls the hook. It returns the token's label, or an error when the key
// store failed and nothing can be decided.
func (h *Handler) handle(ctx context.Context, mt match) (string, error) {
	k, err := h.m.Identify(ctx, mt.Token) // checks the checksum first
	switch {
	case errors.Is(err, apikey.ErrInvalidKey):
		return LabelFalsePositive, nil
	case err != nil:
		return "", err
	}
	alert := Alert{Key: k, Type: mt.Type, URL: mt.URL, Source: mt.Source}
	if h.policy == Deactivate && k.Active {
		// The audit trail says who deactivated the key and where it was
		// found, as apikey scan --deactivate does.
		why := apikey.NewChangeContext(ctx, apikey.Change{ActorName: ActorName, Reason: foundAt(mt)})
		err := h.m.Deactivate(why, k.ID)
		switch {
		case errors.Is(err, apikey.ErrNotFound):
			// Deleted since it was identified: nothing left to revoke.
		case err != nil:
			return "", err
		default:
			alert.Deactivated = true
			k.Active = false
		}
	}
	h.logger.LogAttrs(ctx, slog.LevelWarn, "secretscan: a key was found in public",
		slog.Any("key", k), slog.String("url", mt.URL), slog.String("source", mt.Source),
		slog.Bool("deactivated", alert.Deactivated), slog.String("policy", h.policy.String()))
	if h.hook != nil {
		h.hook(ctx, alert)
	}
	return LabelTruePositive, nil
}

// refuse answers a request that is not a valid alert. The reason goes to the
// log, not to the client.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	h.logger.LogAttrs(r.Context(), slog.LevelWarn, "secretscan: request refused",
		slog.Int("status", status), slog.String("reason", reason), slog.String("remote", r.RemoteAddr))
	http.Error(w, http.StatusText(status), status)
}

// unavailable answers 503, so that GitHub sends the alert again.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, reason string, err error) {
	h.logger.LogAttrs(r.Context(), slog.LevelError, "secretscan: "+reason, slog.Any("error", err))
	w.Header().Set("Retry-After", "60")
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// isJSON reports whether a Content-Type header value is application/json,
// with a UTF-8 charset if any.
func isJSON(contentType string) bool {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}
