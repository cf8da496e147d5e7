package subscribe

import "testing"

func TestOnRequest(t *testing.T) {
	aside := &Choice{Newsletters: []string{"weekly"}}
	tests := []struct {
		name string
		old  Subscriber
		want RequestAction
	}{
		{"OKActive", Subscriber{Status: StatusActive}, RequestNoMail},
		{"OKPending", Subscriber{Status: StatusPending}, RequestResend},
		{"OKUnsubscribed", Subscriber{Status: StatusUnsubscribed}, RequestSetAside},
		{"OKBounced", Subscriber{Status: StatusBounced}, RequestSetAside},
		{"OKChoiceAlreadyAside", Subscriber{Status: StatusUnsubscribed, Pending: aside}, RequestResend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OnRequest(&tt.old); got != tt.want {
				t.Errorf("OnRequest = %d, want %d", got, tt.want)
			}
		})
	}
}
