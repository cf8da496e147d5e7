package mail

import "errors"

// ReplyClass sorts the result of a Send for metrics: "2xx" (accepted),
// "4xx" or "5xx" (the server's reply class), "network" (no reply: a
// dropped connection, a timeout), "local" (this machine failed: the
// outbox could not be written, see ErrLocal) or "error" (anything else,
// such as an invalid envelope or a closed sender).
func ReplyClass(err error) string {
	if err == nil {
		return "2xx"
	}
	if errors.Is(err, ErrLocal) {
		return "local"
	}
	var se *SendError
	if !errors.As(err, &se) {
		return "error"
	}
	switch {
	case se.Code >= 400 && se.Code < 500:
		return "4xx"
	case se.Code >= 500 && se.Code < 600:
		return "5xx"
	case se.Code == 0 && se.Temporary:
		return "network"
	}
	return "error"
}
