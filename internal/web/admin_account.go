package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
)

// The signed-in user's own account: /admin/account (sessions, password,
// two-factor sign-in) and the second sign-in step, /admin/login/code
// (docs/ARCHITECTURE.md, "Admin UI").

// actor is the signed-in user as the audit log names them.
func (a *adminUI) actor(r *http.Request) admin.Actor {
	wh := who(r)
	return admin.Actor{UserID: wh.User.ID, Email: wh.User.Email, IP: a.s.clientIP(r)}
}

// need2FA reports whether every user must have a second factor:
// admin.require_2fa, else the owners' setting.
func (a *adminUI) need2FA(r *http.Request) (bool, error) {
	if a.cfg.Require2FA {
		return true, nil
	}
	v, err := a.cfg.Store.Setting(r.Context(), admin.SettingRequire2FA)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return v == "true", err
}

type sessionRow struct {
	store.Session
	Current bool
}

type accountData struct {
	Sessions      []sessionRow
	TwoFactor     bool
	CodesLeft     int
	Required      bool
	RecoveryCodes []string // shown once, after they are made
}

// accountPage: GET /admin/account.
func (a *adminUI) accountPage(w http.ResponseWriter, r *http.Request) error {
	return a.showAccount(w, r, http.StatusOK, nil, nil)
}

func (a *adminUI) showAccount(w http.ResponseWriter, r *http.Request, status int, codes []string, errs []fieldError) error {
	wh := who(r)
	ctx := r.Context()
	ses, err := a.cfg.Store.UserSessions(ctx, wh.User.ID)
	if err != nil {
		return err
	}
	d := accountData{TwoFactor: wh.User.TOTPSecret != "", RecoveryCodes: codes}
	for _, se := range ses {
		if !se.Pending {
			d.Sessions = append(d.Sessions, sessionRow{se, se.IDHash == wh.Session.IDHash})
		}
	}
	if d.TwoFactor {
		if d.CodesLeft, err = a.cfg.Store.RecoveryCodesLeft(ctx, wh.User.ID); err != nil {
			return err
		}
	}
	if d.Required, err = a.need2FA(r); err != nil {
		return err
	}
	a.render(w, r, status, "account", adminView{Title: "Your account", Data: d, Errors: errs})
	return nil
}

// revokeSession: POST /admin/account/sessions/revoke ends one of the
// user's own sessions.
func (a *adminUI) revokeSession(w http.ResponseWriter, r *http.Request) error {
	wh := who(r)
	id := r.PostFormValue("session")
	se, err := a.cfg.Store.Session(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && se.UserID != wh.User.ID) {
		return Errorf(http.StatusNotFound, "There is no such session of yours. It may have ended already.")
	}
	if err != nil {
		return err
	}
	if err := admin.RevokeSession(r.Context(), a.cfg.Store, a.actor(r), se, a.s.cfg.Now()); err != nil {
		return err
	}
	if id == wh.Session.IDHash {
		a.clearSession(w)
		a.redirect(w, r, "/admin/login", "This browser's session has ended.")
		return nil
	}
	a.redirect(w, r, "/admin/account", "The session has ended.")
	return nil
}

// changePassword: POST /admin/account/password. Every other session of
// the user ends; this browser gets a fresh one.
func (a *adminUI) changePassword(w http.ResponseWriter, r *http.Request) error {
	wh := who(r)
	next := r.PostFormValue("password")
	if next != r.PostFormValue("password_confirm") {
		return a.showAccount(w, r, http.StatusBadRequest, nil, []fieldError{{"password_confirm", "The two new passwords differ. Type the same password twice."}})
	}
	err := admin.ChangePassword(r.Context(), a.cfg.Store, a.actor(r), wh.User, r.PostFormValue("current_password"), next, a.s.cfg.Now())
	switch {
	case errors.Is(err, admin.ErrWrongPassword):
		return a.showAccount(w, r, http.StatusBadRequest, nil, []fieldError{{"current_password", sentence(err.Error())}})
	case errors.Is(err, admin.ErrPasswordShort), errors.Is(err, admin.ErrPasswordIsEmail):
		return a.showAccount(w, r, http.StatusBadRequest, nil, []fieldError{{"password", sentence(err.Error())}})
	case err != nil:
		return err
	}
	token, err := a.auth.Start(r.Context(), wh.User, userAgent(r), a.s.clientIP(r))
	if err != nil {
		return err
	}
	a.setSession(w, token)
	a.redirect(w, r, "/admin/account", "Your password is changed. Every other session has ended.")
	return nil
}

type enrolData struct {
	Secret string
	QR     template.URL // data:image/png;base64,…
	URL    string
}

// enrolPage: GET /admin/account/2fa shows a fresh secret and its QR code.
func (a *adminUI) enrolPage(w http.ResponseWriter, r *http.Request) error {
	return a.showEnrol(w, r, http.StatusOK, "", nil)
}

func (a *adminUI) showEnrol(w http.ResponseWriter, r *http.Request, status int, secret string, errs []fieldError) error {
	wh := who(r)
	var k admin.TOTPKey
	var err error
	if secret == "" {
		k, err = admin.NewTOTPKey(a.s.cfg.Site.Title, wh.User.Email)
	} else {
		k, err = admin.TOTPKeyOf(a.s.cfg.Site.Title, wh.User.Email, secret)
	}
	if err != nil {
		return err
	}
	a.render(w, r, status, "enrol", adminView{Title: "Set up two-factor sign-in", Errors: errs, Data: enrolData{
		Secret: k.Secret, URL: k.URL,
		// A data: URI: the CSP's img-src allows it, and the secret never
		// sits at a URL of its own.
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(k.QR)),
	}})
	return nil
}

// enrol: POST /admin/account/2fa turns two-factor sign-in on once a code
// from the app matches, and shows the recovery codes once.
func (a *adminUI) enrol(w http.ResponseWriter, r *http.Request) error {
	wh := who(r)
	secret := r.PostFormValue("secret")
	codes, err := admin.EnableTOTP(r.Context(), a.cfg.Store, a.actor(r), wh.User, secret, r.PostFormValue("code"), a.s.cfg.Now())
	if errors.Is(err, admin.ErrCode) || errors.Is(err, admin.ErrBadSecret) {
		return a.showEnrol(w, r, http.StatusBadRequest, secret, []fieldError{{"code", sentence(err.Error())}})
	}
	if err != nil {
		return err
	}
	wh.User.TOTPSecret = secret
	a.s.log.InfoContext(r.Context(), "admin: two-factor sign-in on", slog.String("email", wh.User.Email))
	return a.showAccount(w, r, http.StatusOK, codes, nil)
}

// disable2FA: POST /admin/account/2fa/disable, with the password.
func (a *adminUI) disable2FA(w http.ResponseWriter, r *http.Request) error {
	wh := who(r)
	if need, err := a.need2FA(r); err != nil {
		return err
	} else if need {
		return Errorf(http.StatusConflict, "Two-factor sign-in is required on this site, so it cannot be turned off.")
	}
	if !admin.VerifyPassword(wh.User.PasswordHash, r.PostFormValue("current_password")) {
		return a.showAccount(w, r, http.StatusBadRequest, nil, []fieldError{{"disable_password", "The password is wrong."}})
	}
	if err := admin.DisableTOTP(r.Context(), a.cfg.Store, a.actor(r), wh.User, a.s.cfg.Now()); err != nil {
		return err
	}
	a.redirect(w, r, "/admin/account", "Two-factor sign-in is off.")
	return nil
}

// newRecoveryCodes: POST /admin/account/recovery-codes replaces them and
// shows the new ones once.
func (a *adminUI) newRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	wh := who(r)
	if wh.User.TOTPSecret == "" {
		return Errorf(http.StatusConflict, "Two-factor sign-in is off: there are no recovery codes to renew.")
	}
	codes, err := admin.NewRecoveryCodes(r.Context(), a.cfg.Store, a.actor(r), wh.User, a.s.cfg.Now())
	if err != nil {
		return err
	}
	return a.showAccount(w, r, http.StatusOK, codes, nil)
}

type codeForm struct{ Next string }

// pending is the request's session that waits for its code.
func (a *adminUI) pending(r *http.Request) (string, error) {
	c, err := r.Cookie(a.cookie)
	if err != nil {
		return "", admin.ErrNoSession
	}
	if _, _, err := a.auth.Pending(r.Context(), c.Value); err != nil {
		return "", err
	}
	return c.Value, nil
}

// codePage: GET /admin/login/code, the second step of signing in.
func (a *adminUI) codePage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.pending(r); err != nil {
		if errors.Is(err, admin.ErrNoSession) {
			a.redirect(w, r, "/admin/login", "Please sign in again: the code step lasts five minutes.")
			return nil
		}
		return err
	}
	a.render(w, r, http.StatusOK, "code", adminView{Title: "Sign-in code", Data: codeForm{Next: safeNext(r.URL.Query().Get("next"))}})
	return nil
}

// code: POST /admin/login/code checks the code (or a recovery code) and
// signs in.
func (a *adminUI) code(w http.ResponseWriter, r *http.Request) error {
	if err := a.allowAttempt(w, r); err != nil {
		return err
	}
	form := codeForm{Next: safeNext(r.PostFormValue("next"))}
	tok, err := a.pending(r)
	if errors.Is(err, admin.ErrNoSession) {
		a.redirect(w, r, "/admin/login", "Please sign in again: the code step lasts five minutes.")
		return nil
	}
	if err != nil {
		return err
	}
	ip := a.s.clientIP(r)
	token, u, err := a.auth.Confirm(r.Context(), tok, r.PostFormValue("code"), userAgent(r), ip)
	if errors.Is(err, admin.ErrCode) {
		a.s.log.WarnContext(r.Context(), "admin: sign-in code refused", slog.String("ip", ip))
		a.render(w, r, http.StatusBadRequest, "code", adminView{Title: "Sign-in code", Data: form,
			Errors: []fieldError{{"code", sentence(err.Error())}}})
		return nil
	}
	if err != nil {
		return err
	}
	a.s.log.InfoContext(r.Context(), "admin: signed in", slog.String("email", u.Email), slog.String("ip", ip))
	a.setSession(w, token)
	a.redirect(w, r, form.Next, "")
	return nil
}
