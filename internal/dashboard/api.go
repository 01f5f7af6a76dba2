package dashboard

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sagefence/sagefence/internal/history"
	jsonw "github.com/sagefence/sagefence/internal/report/json"
)

// serveResults writes the latest state with the scan's own JSON writer, so
// that /api/v1/results is byte for byte what `scan --format json` gives.
// It streams: the results of a large fleet are never held twice.
func (h *handler) serveResults(w http.ResponseWriter, r *http.Request) {
	if !h.src.Ready() {
		plain(w, http.StatusServiceUnavailable, "not ready: the first full scan is not stored yet")
		return
	}
	rep, err := h.src.Report(r.Context())
	if err != nil {
		plain(w, http.StatusInternalServerError, "reading the latest results: "+err.Error())
		return
	}
	if rep == nil {
		// Ready but nothing to show is a store between states, not an
		// empty fleet (which is a report with no results).
		plain(w, http.StatusServiceUnavailable, "not ready: no results are stored")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Once the first bytes are out the status cannot change; a failure
	// past that point can only cut the body short, which a client's JSON
	// parser then reports.
	_ = jsonw.Write(w, rep)
}

// historyResponse is the body of /api/v1/history.
type historyResponse struct {
	Transitions []history.Transition `json:"transitions"`
}

func (h *handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	account, region, name := q.Get("account"), q.Get("region"), q.Get("name")
	var missing []string
	for _, p := range []struct{ key, val string }{{"account", account}, {"region", region}, {"name", name}} {
		if p.val == "" {
			missing = append(missing, p.key)
		}
	}
	if len(missing) > 0 {
		plain(w, http.StatusBadRequest, "missing query parameter "+strings.Join(missing, ", ")+
			": want /api/v1/history?account=ID&region=REGION&name=NOTEBOOK")
		return
	}
	ts, err := h.src.History(r.Context(), account, region, name)
	if err != nil {
		plain(w, http.StatusInternalServerError, "reading the history of "+account+"/"+region+"/"+name+": "+err.Error())
		return
	}
	if ts == nil {
		ts = []history.Transition{}
	}
	body, err := json.MarshalIndent(historyResponse{Transitions: ts}, "", "  ")
	if err != nil {
		plain(w, http.StatusInternalServerError, "encoding the history: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}
