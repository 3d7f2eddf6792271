package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jwtClaims are the claims a JWT verifier checks.
type jwtClaims struct {
	Issuer    string       `json:"iss"`
	Audience  stringOrList `json:"aud"`
	Expiry    *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	Roles     stringOrList `json:"roles"`
	Scp       spaceList    `json:"scp"`   // Entra ID and Okta
	Scope     spaceList    `json:"scope"` // RFC 8693, RFC 9068
}

// checkClaims decodes a verified payload and checks its claims against the
// configuration, in the order a person would fix them.
func (j *JWT) checkClaims(payload []byte) error {
	var c jwtClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			if typeErr.Field == "" {
				return unauthorized("token payload is a JSON " + typeErr.Value + ", not an object of claims")
			}
			return unauthorized(fmt.Sprintf("token claim %s is a JSON %s, not the expected kind", typeErr.Field, typeErr.Value))
		}
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return unauthorized("token payload is not JSON")
		}
		// One of the claim types' own errors, written for people.
		return unauthorized("token claims are not valid: " + err.Error())
	}
	now := j.now()
	nowSec := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	leeway := j.leeway.Seconds()
	switch {
	case c.Expiry == nil:
		return unauthorized("token has no exp claim; tokens that never expire are refused")
	case nowSec >= float64(*c.Expiry)+leeway:
		return unauthorized(fmt.Sprintf("token expired at %s, %s ago, beyond the %s leeway",
			c.Expiry, secondsString(nowSec-float64(*c.Expiry)), j.leeway))
	case c.NotBefore != nil && nowSec < float64(*c.NotBefore)-leeway:
		return unauthorized(fmt.Sprintf("token is not valid until %s, %s from now, beyond the %s leeway (check the clocks)",
			c.NotBefore, secondsString(float64(*c.NotBefore)-nowSec), j.leeway))
	case c.IssuedAt != nil && nowSec < float64(*c.IssuedAt)-leeway:
		return unauthorized(fmt.Sprintf("token was issued at %s, %s in the future, beyond the %s leeway (check the clocks)",
			c.IssuedAt, secondsString(float64(*c.IssuedAt)-nowSec), j.leeway))
	case c.Issuer != j.issuer:
		return unauthorized(fmt.Sprintf("token issuer %s is not the configured issuer %s", quote(c.Issuer), quote(j.issuer)))
	case len(c.Audience) == 0:
		return unauthorized("token has no aud claim")
	case !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(j.audience, a) }):
		return unauthorized(fmt.Sprintf("token audience %s includes none of the configured audiences %s", quoteList(c.Audience), quoteList(j.audience)))
	}
	for _, role := range j.roles {
		if !slices.Contains(c.Roles, role) {
			return unauthorized(fmt.Sprintf("token lacks required role %s (its roles claim has %s)", quote(role), quoteList(c.Roles)))
		}
	}
	scopes := append(slices.Clone(c.Scp), c.Scope...)
	for _, scope := range j.scopes {
		if !slices.Contains(scopes, scope) {
			return unauthorized(fmt.Sprintf("token lacks required scope %s (its scp and scope claims have %s)", quote(scope), quoteList(scopes)))
		}
	}
	return nil
}

// numericDate is a JWT time: seconds since the epoch, possibly fractional.
type numericDate float64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errors.New("a time claim (exp, nbf or iat) is not a number of seconds")
	}
	*d = numericDate(f)
	return nil
}

// String formats d as RFC 3339 when it is within years 1 to 9999.
func (d *numericDate) String() string {
	f := float64(*d)
	if f < -62135596800 || f > 253402300799 {
		return strconv.FormatFloat(f, 'g', -1, 64) + " (unix seconds)"
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339)
}

// secondsString formats a span of seconds as a duration, or in years when
// it is too long for one.
func secondsString(s float64) string {
	if s > float64(math.MaxInt64/int64(time.Second)) {
		return fmt.Sprintf("%.3g years", s/(365.25*24*3600))
	}
	return time.Duration(s * float64(time.Second)).Truncate(time.Second).String()
}

// stringOrList is a claim that is a string or an array of strings (aud, roles).
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	return unmarshalStrings(b, (*[]string)(l), func(s string) []string { return []string{s} })
}

// spaceList is a claim that is a space-separated string or an array of
// strings (scp, scope).
type spaceList []string

func (l *spaceList) UnmarshalJSON(b []byte) error {
	return unmarshalStrings(b, (*[]string)(l), strings.Fields)
}

// unmarshalStrings decodes a claim that is an array of strings, or a single
// string that split turns into one.
func unmarshalStrings(b []byte, into *[]string, split func(string) []string) error {
	values, err := decodeStrings(b)
	if err != nil {
		return err
	}
	if values.single != nil {
		*into = split(*values.single)
	} else {
		*into = values.list
	}
	return nil
}

// decodedStrings is a JSON string, an array of strings, or null (neither set).
type decodedStrings struct {
	single *string
	list   []string
}

func decodeStrings(b []byte) (decodedStrings, error) {
	var v decodedStrings
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return v, err
		}
		v.single = &s
		return v, nil
	}
	if err := json.Unmarshal(b, &v.list); err != nil {
		return v, errors.New("a claim meant to hold strings (aud, roles, scp or scope) holds something else")
	}
	return v, nil
}
