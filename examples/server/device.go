package main

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// The demo provider's device page (RFC 8628's verification_uri): the user
// types the code a device shows, and approves it as a typed-in user, or
// denies it.

var activateTmpl = template.Must(template.ParseFS(web, "web/templates/demo_activate.html"))

type activateForm struct {
	Label, UserCode, Name, Email, Error, Done string
}

func (d *demoProvider) activatePage(w http.ResponseWriter, r *http.Request) {
	d.renderActivate(w, http.StatusOK, activateForm{Label: d.label, UserCode: r.URL.Query().Get("user_code")})
}

func (d *demoProvider) activate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "demo provider: unreadable form", http.StatusBadRequest)
		return
	}
	f := activateForm{Label: d.label, UserCode: strings.TrimSpace(r.PostForm.Get("user_code")),
		Name: strings.TrimSpace(r.PostForm.Get("name")), Email: strings.TrimSpace(r.PostForm.Get("email"))}
	if r.PostForm.Get("decision") == "deny" {
		if err := d.idp.DenyDevice(f.UserCode); err != nil {
			f.Error = "No device is waiting with that code (or it expired)."
			d.renderActivate(w, http.StatusUnprocessableEntity, f)
			return
		}
		f.Done = "Denied. The device will not be signed in."
		d.renderActivate(w, http.StatusOK, f)
		return
	}
	if msg := checkUser(f.Name, f.Email); msg != "" {
		f.Error = msg
		d.renderActivate(w, http.StatusUnprocessableEntity, f)
		return
	}
	err := d.idp.ApproveDevice(f.UserCode, oauthlogintest.User{
		Subject:       subjectFor(f.Email),
		Email:         f.Email,
		EmailVerified: r.PostForm.Get("email_verified") != "",
		Name:          f.Name,
		Username:      strings.ToLower(f.Email[:strings.LastIndexByte(f.Email, '@')]),
	})
	if err != nil {
		f.Error = "No device is waiting with that code (or it expired)."
		d.renderActivate(w, http.StatusUnprocessableEntity, f)
		return
	}
	f.Done = "Approved. You can go back to your device."
	d.renderActivate(w, http.StatusOK, f)
}

func (d *demoProvider) renderActivate(w http.ResponseWriter, status int, f activateForm) {
	var buf bytes.Buffer
	if err := activateTmpl.Execute(&buf, f); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
