package transfer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a small pull tokenizer for the two big parts of a
// workbook, the sheet and the shared strings. encoding/xml allocates for
// every token and read 26,000 rows/s of a 12-column sheet; this reads
// several times faster with a few allocations per cell. It knows what
// those parts use: elements, attributes, text with the five predefined
// entities and character references, CDATA; it skips the XML declaration,
// comments, processing instructions and a DOCTYPE (whose entities are not
// expanded: no billion laughs). Names are reported without their prefix.
type xmlScanner struct {
	r          *bufio.Reader
	kind       tokKind
	name       []byte // element name, valid until the next call
	attrs      []xmlAttr
	text       []byte // text, unescaped
	selfClose  bool
	pendingEnd bool
	tag        []byte // the current tag: in the reader's buffer, or in tag0
	tag0       []byte
	raw, buf   []byte
}

type tokKind uint8

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText
)

type xmlAttr struct{ name, value []byte }

// maxXMLText bounds one text node or tag: far above Excel's 32,767
// characters per cell.
const maxXMLText = 1 << 20

var errXMLTooLong = errors.New("xml: text or tag over 1 MiB")

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads the next token; io.EOF at the end of the input.
func (s *xmlScanner) next() error {
	if s.pendingEnd {
		s.pendingEnd = false
		s.kind = tokEnd
		return nil
	}
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		if b != '<' {
			s.r.UnreadByte()
			return s.readText()
		}
		c, err := s.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		switch c {
		case '/':
			if err := s.readTag(); err != nil {
				return err
			}
			s.kind = tokEnd
			s.name = localName(bytes.TrimSpace(s.tag))
			return nil
		case '?':
			if err := s.skipPast("?>"); err != nil {
				return err
			}
		case '!':
			done, err := s.readBang()
			if err != nil || done {
				return err
			}
		default:
			s.r.UnreadByte()
			if err := s.readTag(); err != nil {
				return err
			}
			return s.parseStart()
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readText reads character data up to the next '<'. Text that fits the
// reader's buffer and has nothing to unescape is not copied.
func (s *xmlScanner) readText() error {
	s.kind = tokText
	chunk, err := s.r.ReadSlice('<')
	if err == nil {
		s.r.UnreadByte()
		raw := chunk[:len(chunk)-1]
		if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
			s.text = raw
			return nil
		}
		s.text, err = unescapeXML(s.buf[:0], raw)
		s.buf = s.text[:0]
		return err
	}
	s.raw = s.raw[:0]
	for {
		switch err {
		case nil:
			s.raw = append(s.raw, chunk[:len(chunk)-1]...)
			s.r.UnreadByte()
		case bufio.ErrBufferFull:
			s.raw = append(s.raw, chunk...)
			if len(s.raw) > maxXMLText {
				return errXMLTooLong
			}
			chunk, err = s.r.ReadSlice('<')
			continue
		case io.EOF:
			s.raw = append(s.raw, chunk...)
		default:
			return err
		}
		break
	}
	s.text, err = unescapeXML(s.buf[:0], s.raw)
	s.buf = s.text[:0]
	return err
}

// readTag reads up to the '>' that ends a tag, outside quoted values. A
// tag that fits the reader's buffer is not copied.
func (s *xmlScanner) readTag() error {
	chunk, err := s.r.ReadSlice('>')
	if err == nil && bytes.IndexByte(chunk, '\'') < 0 && bytes.Count(chunk, []byte{'"'})%2 == 0 {
		s.tag = chunk[:len(chunk)-1]
		return nil
	}
	s.tag = s.tag0[:0]
	var quote byte
	for {
		if err != nil && err != bufio.ErrBufferFull {
			return unexpected(err)
		}
		start := len(s.tag)
		s.tag = append(s.tag, chunk...)
		if len(s.tag) > maxXMLText {
			return errXMLTooLong
		}
		for _, c := range s.tag[start:] {
			switch {
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case c == quote:
				quote = 0
			}
		}
		if err == nil && quote == 0 {
			s.tag0 = s.tag[:0]
			s.tag = s.tag[:len(s.tag)-1] // the '>'
			return nil
		}
		chunk, err = s.r.ReadSlice('>')
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpaceLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func (s *xmlScanner) parseStart() error {
	t := s.tag
	s.selfClose = len(t) > 0 && t[len(t)-1] == '/'
	if s.selfClose {
		t = t[:len(t)-1]
	}
	i := 0
	for i < len(t) && !isSpace(t[i]) {
		i++
	}
	if i == 0 {
		return errors.New("xml: element without a name")
	}
	s.kind = tokStart
	s.name = localName(t[:i])
	s.attrs = s.attrs[:0]
	t = t[i:]
	for {
		t = trimSpaceLeft(t)
		if len(t) == 0 {
			break
		}
		eq := bytes.IndexByte(t, '=')
		if eq < 0 {
			return fmt.Errorf("xml: attribute without a value in <%s>", s.name)
		}
		name := localName(bytes.TrimSpace(t[:eq]))
		t = trimSpaceLeft(t[eq+1:])
		if len(t) == 0 || (t[0] != '"' && t[0] != '\'') {
			return fmt.Errorf("xml: unquoted attribute in <%s>", s.name)
		}
		end := bytes.IndexByte(t[1:], t[0])
		if end < 0 {
			return fmt.Errorf("xml: unterminated attribute in <%s>", s.name)
		}
		value := t[1 : 1+end]
		if bytes.IndexByte(value, '&') >= 0 {
			v, err := unescapeXML(nil, value)
			if err != nil {
				return err
			}
			value = v
		}
		s.attrs = append(s.attrs, xmlAttr{name: name, value: value})
		t = t[2+end:]
	}
	s.pendingEnd = s.selfClose
	return nil
}

// attr is the value of attribute name of the current start tag.
func (s *xmlScanner) attr(name string) []byte {
	for _, a := range s.attrs {
		if string(a.name) == name {
			return a.value
		}
	}
	return nil
}

// readBang handles <!-- -->, <![CDATA[ ]]> (a text token: done) and
// <!DOCTYPE …>.
func (s *xmlScanner) readBang() (done bool, err error) {
	peek, _ := s.r.Peek(7)
	switch {
	case bytes.HasPrefix(peek, []byte("--")):
		return false, s.skipPast("-->")
	case bytes.HasPrefix(peek, []byte("[CDATA[")):
		s.r.Discard(7)
		s.raw = s.raw[:0]
		for !bytes.HasSuffix(s.raw, []byte("]]>")) {
			c, err := s.r.ReadByte()
			if err != nil {
				return false, unexpected(err)
			}
			if s.raw = append(s.raw, c); len(s.raw) > maxXMLText {
				return false, errXMLTooLong
			}
		}
		s.kind = tokText
		s.text = append(s.text[:0], s.raw[:len(s.raw)-3]...)
		return true, nil
	}
	depth := 0 // a DOCTYPE's internal subset in brackets
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return false, unexpected(err)
		}
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case '>':
			if depth <= 0 {
				return false, nil
			}
		}
	}
}

func (s *xmlScanner) skipPast(end string) error {
	matched := 0
	for n := 0; ; n++ {
		c, err := s.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		if n > maxXMLText {
			return errXMLTooLong
		}
		switch {
		case c == end[matched]:
			if matched++; matched == len(end) {
				return nil
			}
		case c == end[0]:
			matched = 1
		default:
			matched = 0
		}
	}
}

// skip passes over the element whose start tag was just read.
func (s *xmlScanner) skip() error {
	for depth := 0; ; {
		if err := s.next(); err != nil {
			return unexpected(err)
		}
		switch s.kind {
		case tokStart:
			depth++
		case tokEnd:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

func localName(b []byte) []byte {
	if i := bytes.IndexByte(b, ':'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// unescapeXML appends src to dst with entities and character references
// replaced, and line ends normalised as XML requires.
func unescapeXML(dst, src []byte) ([]byte, error) {
	for len(src) > 0 {
		i := bytes.IndexAny(src, "&\r")
		if i < 0 {
			return append(dst, src...), nil
		}
		dst = append(dst, src[:i]...)
		src = src[i:]
		if src[0] == '\r' {
			dst = append(dst, '\n')
			src = src[1:]
			if len(src) > 0 && src[0] == '\n' {
				src = src[1:]
			}
			continue
		}
		end := bytes.IndexByte(src, ';')
		if end < 0 || end > 12 {
			return nil, errors.New("xml: bad entity")
		}
		ent := src[1:end]
		src = src[end+1:]
		switch string(ent) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return nil, fmt.Errorf("xml: unknown entity &%s;", ent)
			}
			var n uint64
			var err error
			if ent[1] == 'x' || ent[1] == 'X' {
				n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
			} else {
				n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
			}
			if err != nil || n > utf8.MaxRune {
				return nil, fmt.Errorf("xml: bad character reference &%s;", ent)
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
	}
	return dst, nil
}
