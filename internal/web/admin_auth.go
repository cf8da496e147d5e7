package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/herald-news/herald/internal/admin"
)

// Signing in and out: /admin/login, /admin/setup, /admin/logout
// (docs/ARCHITECTURE.md, "Admin UI").

type loginForm struct {
	Email, Next string
}

// userAgent is the browser's description, clipped: it is only shown in
// the list of one's sessions.
func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return ua
}

// loginPage: GET /admin/login. A signed-in user goes on to next.
func (a *adminUI) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := a.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	a.render(w, r, http.StatusOK, "login", adminView{Title: "Sign in", Data: loginForm{Next: next}})
	return nil
}

// login: POST /admin/login. An unknown address and a wrong password get
// the same answer after the same work (admin.Auth.Login).
func (a *adminUI) login(w http.ResponseWriter, r *http.Request) error {
	if err := a.allowAttempt(w, r); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return Errorf(http.StatusBadRequest, "The form could not be read.")
	}
	form := loginForm{Email: clipField(strings.TrimSpace(r.PostFormValue("email"))), Next: safeNext(r.PostFormValue("next"))}
	ip := a.s.clientIP(r)
	token, u, err := a.auth.Login(r.Context(), form.Email, r.PostFormValue("password"), userAgent(r), ip)
	if errors.Is(err, admin.ErrLogin) {
		a.s.log.WarnContext(r.Context(), "admin: sign-in refused", slog.String("email", form.Email), slog.String("ip", ip))
		a.render(w, r, http.StatusBadRequest, "login", adminView{Title: "Sign in", Data: form,
			Errors: []fieldError{{"email", sentence(admin.ErrLogin.Error())}}})
		return nil
	}
	if err != nil {
		return err
	}
	a.setSession(w, token)
	if u.TOTPSecret != "" {
		// The password was right; the session waits for the code.
		a.redirect(w, r, "/admin/login/code?next="+url.QueryEscape(form.Next), "")
		return nil
	}
	a.s.log.InfoContext(r.Context(), "admin: signed in", slog.String("email", u.Email), slog.String("ip", ip))
	a.redirect(w, r, form.Next, "")
	return nil
}

type setupForm struct {
	Email, Token string
}

// setupPage: GET /admin/setup?token=, the one-time link of herald users
// add and reset.
func (a *adminUI) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	u, err := admin.SetupUser(r.Context(), a.cfg.Store, token, a.s.cfg.Now())
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "setup", adminView{Title: "Set your password", Data: setupForm{Email: u.Email, Token: token}})
	return nil
}

// setup: POST /admin/setup sets the password, spends the link and signs
// the user in.
func (a *adminUI) setup(w http.ResponseWriter, r *http.Request) error {
	if err := a.allowAttempt(w, r); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return Errorf(http.StatusBadRequest, "The form could not be read.")
	}
	token, pw := r.PostFormValue("token"), r.PostFormValue("password")
	now := a.s.cfg.Now()
	u, err := admin.SetupUser(r.Context(), a.cfg.Store, token, now)
	if err != nil {
		return err
	}
	form := setupForm{Email: u.Email, Token: token}
	if pw != r.PostFormValue("password_confirm") {
		a.render(w, r, http.StatusBadRequest, "setup", adminView{Title: "Set your password", Data: form,
			Errors: []fieldError{{"password_confirm", "The two passwords differ. Type the same password twice."}}})
		return nil
	}
	ip := a.s.clientIP(r)
	u, err = admin.CompleteSetup(r.Context(), a.cfg.Store, token, pw, ip, now)
	if errors.Is(err, admin.ErrPasswordShort) || errors.Is(err, admin.ErrPasswordIsEmail) {
		a.render(w, r, http.StatusBadRequest, "setup", adminView{Title: "Set your password", Data: form,
			Errors: []fieldError{{"password", sentence(err.Error())}}})
		return nil
	}
	if err != nil {
		return err
	}
	session, err := a.auth.Start(r.Context(), u, userAgent(r), ip)
	if err != nil {
		return err
	}
	a.s.log.InfoContext(r.Context(), "admin: password set", slog.String("email", u.Email), slog.String("ip", ip))
	a.setSession(w, session)
	a.redirect(w, r, "/admin/", "Your password is set and you are signed in.")
	return nil
}

// logout: POST /admin/logout ends the session.
func (a *adminUI) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(a.cookie); err == nil {
		if err := a.auth.Logout(r.Context(), c.Value, a.s.clientIP(r)); err != nil {
			return err
		}
	}
	a.clearSession(w)
	a.redirect(w, r, "/admin/login", "You have signed out.")
	return nil
}
