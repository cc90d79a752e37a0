package centralauthtest

import (
	"encoding/json"
	"net/http"
)

// CentralAuth's errorCode values that the fake answers with.
const (
	codeGenericError     = "genericError"
	codeNoPermission     = "noPermission"
	codeTooManyRequests  = "tooManyRequests"
	codeMissingFields    = "missingFields"
	codeTokenMissing     = "tokenMissing"
	codeTokenInvalid     = "tokenInvalid"
	codeDomainInvalid    = "domainInvalid"
	codeSessionExpired   = "sessionExpired"
	codeSessionInactive  = "sessionInactive"
	codeChallengeMissing = "codeChallengeMissing"
	codeChallengeInvalid = "codeChallengeInvalid"
	codeCallbackMissing  = "callbackUrlMissing"
	codeCallbackInvalid  = "callbackUrlInvalid"
	codeStateMissing     = "stateMissing"
	codeStateInvalid     = "stateInvalid"
)

// apiError is CentralAuth's JSON error body.
type apiError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// writeError answers with CentralAuth's JSON error body.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{ErrorCode: code, Message: message})
}

// codeForStatus is the errorCode the fake uses for an injected status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return codeNoPermission
	case http.StatusTooManyRequests:
		return codeTooManyRequests
	default:
		return codeGenericError
	}
}
