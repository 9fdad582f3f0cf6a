package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/apikit/apikey"
)

// ContentSecurityPolicy is the Content-Security-Policy of every response:
// the page runs only its own script and style sheet, connects only to its
// own origin, and cannot be framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the admin API and page for one Manager. It is safe for
// concurrent use. See the package documentation for its routes.
type Handler struct {
	m       *apikey.Manager
	actor   ActorFunc
	maxBody int64
	logger  *slog.Logger
	root    *http.ServeMux

	// adminGroup is the group of the default actor, "" under WithActor;
	// adminMu serializes the changes that could leave an organization
	// without an administrator key (see keepAnAdministrator).
	adminGroup string
	adminMu    sync.Mutex
}

// New returns the admin handler for m. It returns an error if an option is
// given an invalid value, or if [WithAdminGroup] is combined with
// [WithActor].
func New(m *apikey.Manager, opts ...Option) (*Handler, error) {
	if m == nil {
		return nil, errors.New("admin: New: nil Manager")
	}
	c := config{maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.actor != nil && c.adminGroup != "" {
		return nil, errors.New("admin: WithAdminGroup applies to the default actor only; the function given to WithActor decides who may act")
	}
	adminGroup := ""
	if c.actor == nil {
		group := c.adminGroup
		if group == "" {
			group = DefaultAdminGroup
		}
		c.actor = keyActor(group)
		adminGroup = group
		if !c.middlewareOK {
			auth, err := m.Authenticator(apikey.AuthConfig{})
			if err != nil {
				return nil, fmt.Errorf("admin: %w", err)
			}
			c.middleware = auth.Middleware
		}
	}
	if c.logger == nil {
		c.logger = m.Logger()
	}
	cop := http.NewCrossOriginProtection()
	for _, origin := range c.origins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("admin: WithTrustedOrigins: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusForbidden, "cross_origin",
			"Cross-origin requests may not change keys: use the admin page served by this server.")
	}))

	h := &Handler{m: m, actor: c.actor, maxBody: c.maxBody, logger: c.logger, adminGroup: adminGroup}
	var api http.Handler = h.apiRoutes()
	if c.middleware != nil {
		api = c.middleware(api)
	}
	// The cross-origin check comes first: a request that may not act is
	// refused before its key is verified.
	api = cop.Handler(api)

	root := http.NewServeMux()
	root.HandleFunc("GET /{$}", serveAsset("index.html"))
	root.HandleFunc("GET /assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		serveAsset("assets/"+r.PathValue("name"))(w, r)
	})
	root.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// API responses describe keys: no cache keeps them, not even the
		// error responses of the middleware.
		w.Header().Set("Cache-Control", "no-store")
		api.ServeHTTP(w, r)
	}))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not_found", "There is nothing at this address.")
	})
	h.root = root
	return h, nil
}

// ServeHTTP serves the page, its assets and the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/") {
		// Mounted with http.StripPrefix("/admin/", h): put back the slash
		// that the routes start with.
		r2 := new(http.Request)
		*r2 = *r
		u := new(url.URL)
		*u = *r.URL
		u.Path = "/" + u.Path
		if u.RawPath != "" {
			u.RawPath = "/" + u.RawPath
		}
		r2.URL = u
		r = r2
	}
	h.root.ServeHTTP(w, r)
}

// actorHandler handles an API request on behalf of an actor, whose context
// carries the actor for the Manager.
type actorHandler func(w http.ResponseWriter, r *http.Request, a apikey.Actor)

// apiRoutes returns the router of the API. A path known with another method
// is answered with 405 and an Allow header, and an unknown path with 404,
// both as problem documents.
func (h *Handler) apiRoutes() *http.ServeMux {
	routes := []struct {
		method, path string
		handle       actorHandler
	}{
		{http.MethodGet, "/api/me", h.me},
		{http.MethodGet, "/api/groups", h.listGroups},
		{http.MethodGet, "/api/keys", h.listKeys},
		{http.MethodPost, "/api/keys", h.createKey},
		{http.MethodGet, "/api/keys/{id}", h.getKey},
		{http.MethodDelete, "/api/keys/{id}", h.deleteKey},
		{http.MethodPut, "/api/keys/{id}/name", h.renameKey},
		{http.MethodPut, "/api/keys/{id}/groups", h.setGroups},
		{http.MethodPost, "/api/keys/{id}/activate", h.activateKey},
		{http.MethodPost, "/api/keys/{id}/deactivate", h.deactivateKey},
		{http.MethodPost, "/api/keys/{id}/roll", h.rollKey},
		{http.MethodPut, "/api/keys/{id}/expiry", h.setExpiry},
		{http.MethodGet, "/api/keys/{id}/limits", h.getLimits},
		{http.MethodPut, "/api/keys/{id}/limits", h.setLimits},
		{http.MethodPost, "/api/keys/{id}/credits", h.changeCredits},
		{http.MethodGet, "/api/keys/{id}/events", h.keyEvents},
		{http.MethodGet, "/api/events", h.listEvents},
		{http.MethodGet, "/api/keys/{id}/usage", h.keyUsage},
		{http.MethodGet, "/api/usage", h.orgUsage},
		{http.MethodGet, "/api/usage/unused", h.unusedKeys},
	}
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, h.withActor(rt.handle))
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.path] = append(allowed[rt.path], http.MethodHead)
		}
	}
	for _, path := range paths {
		allow := strings.Join(allowed[path], ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("This address takes %s requests only.", allow))
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not_found", "There is no such API route.")
	})
	return mux
}

// withActor finds who is acting for the request and passes them on, with a
// context that makes the Manager act on their behalf.
func (h *Handler) withActor(next actorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := h.actor(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := apikey.ValidateName(a.Name); err != nil {
			// The Manager would refuse it as the creator of a key; it is
			// the application's mistake, not the administrator's.
			h.writeError(w, r, fmt.Errorf("admin: the actor's name is not valid: %v", err))
			return
		}
		a.Groups = slices.Clone(a.Groups)
		next(w, r.WithContext(apikey.NewActorContext(r.Context(), a)), a)
	})
}
