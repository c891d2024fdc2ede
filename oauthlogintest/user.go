package oauthlogintest

// User is the account the fake provider signs in. Its fields become the
// standard claims of the ID token and of the userinfo response.
type User struct {
	Subject       string // sub
	Email         string // email
	EmailVerified bool   // email_verified
	Name          string // name
	Username      string // preferred_username
	Picture       string // picture
	// ACR is the acr claim of the user's ID tokens when the login asks for
	// no acr_values (those get the first value asked, or Behavior.ACR);
	// empty leaves acr out.
	ACR string
}

// defaultUser is the account a new Server approves until SetUser is called.
func defaultUser() User {
	return User{
		Subject:       "user-1",
		Email:         "ada@example.com",
		EmailVerified: true,
		Name:          "Ada Lovelace",
		Username:      "ada",
		Picture:       "https://example.com/ada.png",
	}
}

// claims returns the user's standard claims, as userinfo and ID tokens
// carry them. sub is always present; empty fields are left out, and
// email_verified goes with email.
func (u User) claims() map[string]any {
	c := map[string]any{"sub": u.Subject}
	set := func(name, value string) {
		if value != "" {
			c[name] = value
		}
	}
	set("email", u.Email)
	set("name", u.Name)
	set("preferred_username", u.Username)
	set("picture", u.Picture)
	if u.Email != "" {
		c["email_verified"] = u.EmailVerified
	}
	return c
}
