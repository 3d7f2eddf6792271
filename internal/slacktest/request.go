package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody bounds a request body; Slack's own limits are far below it.
const maxBody = 1 << 20

// request is a Web API request as Slack reads it: form-encoded (the token
// in the Authorization header or a token argument) or JSON (the token only
// in the header).
type request struct {
	json  bool
	token string
	args  map[string]string
}

func decodeRequest(r *http.Request) (request, error) {
	req := request{args: map[string]string{}}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.token = bearer
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		req.json = true
		err := req.decodeJSON(r.Body)
		delete(req.args, "token") // JSON requests carry it only in the header
		return req, err
	}
	var err error
	if mediaType == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return req, err
	}
	for k, v := range r.Form {
		if len(v) > 0 {
			req.args[k] = v[0]
		}
	}
	if token, ok := req.args["token"]; ok {
		delete(req.args, "token")
		if req.token == "" {
			req.token = token
		}
	}
	return req, nil
}

// decodeJSON reads a JSON object's members as arguments; members that are
// not strings keep their JSON text.
func (req *request) decodeJSON(body io.Reader) error {
	var members map[string]json.RawMessage
	if err := json.NewDecoder(body).Decode(&members); err != nil {
		return err
	}
	for k, raw := range members {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			req.args[k] = s
		} else {
			req.args[k] = string(raw)
		}
	}
	return nil
}

// call records the request as a call of method. Blocks or a view that are
// not valid JSON are left nil; the method answers for them.
func (req request) call(method string) Call {
	c := Call{
		Method:    method,
		Channel:   req.args["channel"],
		Text:      req.args["text"],
		TS:        req.args["ts"],
		ThreadTS:  req.args["thread_ts"],
		User:      req.args["user"],
		TriggerID: req.args["trigger_id"],
		Args:      req.args,
	}
	if raw, ok := req.args["blocks"]; ok {
		c.Blocks, _ = parseBlocks(raw)
	}
	if raw, ok := req.args["view"]; ok {
		_ = json.Unmarshal([]byte(raw), &c.View)
	}
	return c
}

// parseBlocks parses a blocks argument: a JSON array of objects.
func parseBlocks(raw string) ([]map[string]any, error) {
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, fmt.Errorf("blocks: %w", err)
	}
	if blocks == nil {
		return nil, errors.New("blocks: not an array")
	}
	for i, b := range blocks {
		if _, ok := b["type"].(string); !ok {
			return nil, fmt.Errorf("blocks[%d]: no type", i)
		}
	}
	return blocks, nil
}
