package fakemodel

// words the fake model "generates", one per token.
var words = [...]string{" lorem", " ipsum", " dolor", " sit", " amet", " consectetur", " adipiscing", " elit"}

func word(i int) string { return words[i%len(words)] }

// generation is one request's answer in the OpenAI shapes.
type generation struct {
	id, model string
	chat      bool
	n         int
	created   int64
}

func (g *generation) object(chunk bool) string {
	switch {
	case g.chat && chunk:
		return "chat.completion.chunk"
	case g.chat:
		return "chat.completion"
	default:
		return "text_completion"
	}
}

// full is a non-streamed answer.
func (g *generation) full(text string) map[string]any {
	choice := map[string]any{"index": 0, "finish_reason": "length"}
	if g.chat {
		choice["message"] = map[string]string{"role": "assistant", "content": text}
	} else {
		choice["text"] = text
	}
	return map[string]any{
		"id": g.id, "object": g.object(false), "created": g.created, "model": g.model,
		"choices": []any{choice},
		"usage":   map[string]int{"prompt_tokens": 1, "completion_tokens": g.n, "total_tokens": g.n + 1},
	}
}

// chunk is one SSE event; last carries finish_reason.
func (g *generation) chunk(text string, last bool) map[string]any {
	choice := map[string]any{"index": 0, "finish_reason": nil}
	if last {
		choice["finish_reason"] = "length"
	}
	if g.chat {
		choice["delta"] = map[string]string{"content": text}
	} else {
		choice["text"] = text
	}
	return map[string]any{"id": g.id, "object": g.object(true), "created": g.created, "model": g.model, "choices": []any{choice}}
}
