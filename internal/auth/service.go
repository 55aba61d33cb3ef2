package auth

import (
	"context"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
)

// Session is a browser login, found by the hash of its cookie value.
type Session struct {
	IDHash    string
	UserID    int64
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken is a bearer token, stored as its hash.
type APIToken struct {
	Hash      string
	UserID    int64
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
}

// LoginAttempt is kept for throttling.
type LoginAttempt struct {
	At      time.Time
	User    string
	Address string
	OK      bool
}

// Store is what the auth service needs from storage.
type Store interface {
	CreateUser(ctx context.Context, u *User, e audit.Entry) error
	FindUserByName(ctx context.Context, name string) (*User, error)
	SchoolExists(ctx context.Context, code string) (bool, error)
	CreateSession(ctx context.Context, s *Session, e audit.Entry) error
	FindSession(ctx context.Context, idHash string, now time.Time) (*Session, *User, error)
	DeleteSession(ctx context.Context, idHash string, e audit.Entry) error
	CreateAPIToken(ctx context.Context, t *APIToken, e audit.Entry) error
	FindUserByAPIToken(ctx context.Context, hash string, now time.Time) (*User, error)
	RecordLoginAttempt(ctx context.Context, a LoginAttempt, e *audit.Entry) error
	CountLoginFailures(ctx context.Context, user, address string, since time.Time) (byUser, byAddress int, err error)
}

// Throttling limits over a sliding window.
const (
	ThrottleWindow      = 15 * time.Minute
	MaxFailuresPerUser  = 5
	MaxFailuresPerAddr  = 20
	DefaultSessionTTL   = 12 * time.Hour
	maxCredentialLength = 256
)

// Service authenticates callers and manages accounts.
type Service struct {
	Store      Store
	Now        func() time.Time
	SessionTTL time.Duration
	dummyHash  string
}

// NewService returns a service over store.
func NewService(store Store) *Service {
	return &Service{Store: store, Now: time.Now, SessionTTL: DefaultSessionTTL, dummyHash: HashPassword("gongjiang-dummy-password")}
}

// AddUser creates an account; actor is who does it (user name or "system").
func (s *Service) AddUser(ctx context.Context, actor string, u *User, password string) error {
	if err := ValidateUser(u, func(code string) (bool, error) { return s.Store.SchoolExists(ctx, code) }); err != nil {
		return err
	}
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	u.PasswordHash = HashPassword(password)
	u.CreatedAt = s.Now()
	return s.Store.CreateUser(ctx, u, audit.Entry{Actor: actor, Action: "user.create", Entity: "user", EntityID: u.Name,
		Data: map[string]string{"role": string(u.Role), "scope": u.Scope, "display_name": u.DisplayName}})
}

// Login checks a password, throttled per user and per address, and opens a
// session. It returns the cookie value, shown only now.
func (s *Service) Login(ctx context.Context, name, password, address string) (string, *Session, *User, error) {
	if len(name) > maxCredentialLength || len(password) > maxCredentialLength {
		return "", nil, nil, apperr.E(apperr.Unauthorized, "", "auth.login.failed")
	}
	now := s.Now()
	byUser, byAddr, err := s.Store.CountLoginFailures(ctx, name, address, now.Add(-ThrottleWindow))
	if err != nil {
		return "", nil, nil, err
	}
	if byUser >= MaxFailuresPerUser || byAddr >= MaxFailuresPerAddr {
		return "", nil, nil, apperr.E(apperr.RateLimited, "", "auth.login.throttled", int(ThrottleWindow.Minutes()))
	}
	u, err := s.Store.FindUserByName(ctx, name)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return "", nil, nil, err
	}
	hash := s.dummyHash // same work whether or not the user exists
	if u != nil {
		hash = u.PasswordHash
	}
	ok := VerifyPassword(hash, password) && u != nil && !u.Disabled
	if !ok {
		e := &audit.Entry{Actor: "anonymous", Action: "user.login_failed", Entity: "user", EntityID: name, Data: map[string]string{"address": address}}
		if err := s.Store.RecordLoginAttempt(ctx, LoginAttempt{At: now, User: name, Address: address}, e); err != nil {
			return "", nil, nil, err
		}
		return "", nil, nil, apperr.E(apperr.Unauthorized, "", "auth.login.failed")
	}
	if err := s.Store.RecordLoginAttempt(ctx, LoginAttempt{At: now, User: name, Address: address, OK: true}, nil); err != nil {
		return "", nil, nil, err
	}
	token, hashed := NewToken(SessionPrefix)
	csrf, _ := NewToken("")
	sess := &Session{IDHash: hashed, UserID: u.ID, CSRFToken: csrf[:32], CreatedAt: now, ExpiresAt: now.Add(s.SessionTTL)}
	if err := s.Store.CreateSession(ctx, sess, audit.Entry{Actor: u.Name, Action: "user.login", Entity: "user", EntityID: u.Name,
		Data: map[string]string{"address": address}}); err != nil {
		return "", nil, nil, err
	}
	return token, sess, u, nil
}

// Session resolves a session cookie value.
func (s *Service) Session(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" || len(token) > maxCredentialLength {
		return nil, nil, apperr.E(apperr.Unauthorized, "", "auth.session.invalid")
	}
	sess, u, err := s.Store.FindSession(ctx, HashToken(token), s.Now())
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && u.Disabled) {
		return nil, nil, apperr.E(apperr.Unauthorized, "", "auth.session.invalid")
	}
	return sess, u, err
}

// Logout ends p's session.
func (s *Service) Logout(ctx context.Context, p Principal, token string) error {
	return s.Store.DeleteSession(ctx, HashToken(token), audit.Entry{Actor: p.Name, Action: "user.logout", Entity: "user", EntityID: p.Name})
}

// CreateAPIToken issues a bearer token for the named user.
func (s *Service) CreateAPIToken(ctx context.Context, actor, userName, label string, ttl time.Duration) (string, error) {
	u, err := s.Store.FindUserByName(ctx, userName)
	if err != nil {
		return "", err
	}
	token, hash := NewToken(APITokenPrefix)
	t := &APIToken{Hash: hash, UserID: u.ID, Label: label, CreatedAt: s.Now()}
	if ttl > 0 {
		t.ExpiresAt = t.CreatedAt.Add(ttl)
	}
	err = s.Store.CreateAPIToken(ctx, t, audit.Entry{Actor: actor, Action: "token.create", Entity: "user", EntityID: u.Name,
		Data: map[string]string{"label": label}})
	return token, err
}

// Bearer resolves an API token.
func (s *Service) Bearer(ctx context.Context, token string) (*User, error) {
	if len(token) > maxCredentialLength {
		return nil, apperr.E(apperr.Unauthorized, "", "auth.token.invalid")
	}
	u, err := s.Store.FindUserByAPIToken(ctx, HashToken(token), s.Now())
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && u.Disabled) {
		return nil, apperr.E(apperr.Unauthorized, "", "auth.token.invalid")
	}
	return u, err
}
