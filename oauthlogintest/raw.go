package oauthlogintest

import (
	"bytes"
	"io"
	"net/http"
)

// maxRawRequestBody bounds what a raw response reads of the request.
const maxRawRequestBody = 1 << 20

// ServeHTTP answers r with the scripted response. It reads the request
// body first, so that net/http notices when the client hangs up, and stops
// writing as soon as r.Context() is done or a write fails.
func (raw RawResponse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, maxRawRequestBody))
	ctx := r.Context()
	if raw.Hang {
		<-ctx.Done()
		return
	}
	if raw.ContentType != "" {
		w.Header().Set("Content-Type", raw.ContentType)
	} else {
		w.Header()["Content-Type"] = nil // no sniffing either
	}
	status := raw.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	body := raw.Body
	size := int64(len(body))
	if raw.Size > size && len(body) > 0 {
		size = raw.Size
	}
	if raw.Drip > 0 {
		http.NewResponseController(w).Flush()
		for i := range size {
			if !wait(ctx, raw.Drip) {
				return
			}
			if _, err := w.Write([]byte{body[i%int64(len(body))]}); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
		}
		return
	}
	if size == int64(len(body)) {
		w.Write(body)
		return
	}
	chunk := bytes.Repeat(body, max(1, (32<<10)/len(body)))
	for sent := int64(0); sent < size; {
		n := min(int64(len(chunk)), size-sent)
		if ctx.Err() != nil {
			return
		}
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		sent += n
	}
}

var _ http.Handler = RawResponse{}

// scripted returns the handler that answers endpoint under b: the honest
// one, a Raw response instead, and b's Intercept around either.
func scripted(b Behavior, endpoint string, honest http.Handler) http.Handler {
	h := honest
	if raw, ok := b.Raw[endpoint]; ok {
		h = raw
	}
	if wrap := b.Intercept[endpoint]; wrap != nil {
		h = wrap(h)
	}
	return h
}
