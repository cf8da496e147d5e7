package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/store/storetest"
)

// failEnv names the one store method the faulty backend breaks in the
// child process that TestSuiteCatchesErrors starts.
const failEnv = "HERALD_STORETEST_FAIL"

var errInjected = errors.New("injected store fault")

// faulty is a fake for a fault a real store cannot be made to produce on
// demand: it runs every call on a real SQLite store and returns the real
// result, but the method named fail also returns an error. A suite that
// ignores that error passes a broken backend.
type faulty struct {
	*sqlite.Store
	fail string
}

func (f faulty) err(method string) error {
	if method == f.fail {
		return errInjected
	}
	return nil
}

func (f faulty) UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error) {
	c, err := f.Store.UpsertArticle(ctx, a, now)
	return c, errors.Join(err, f.err("UpsertArticle"))
}

func (f faulty) CreateArticle(ctx context.Context, a *article.Article, now time.Time) error {
	return errors.Join(f.Store.CreateArticle(ctx, a, now), f.err("CreateArticle"))
}

func (f faulty) SetRemoved(ctx context.Context, slug string, removed bool) error {
	return errors.Join(f.Store.SetRemoved(ctx, slug, removed), f.err("SetRemoved"))
}

func (f faulty) DeleteArticle(ctx context.Context, slug string) error {
	return errors.Join(f.Store.DeleteArticle(ctx, slug), f.err("DeleteArticle"))
}

func (f faulty) GetArticle(ctx context.Context, slug string) (*article.Article, error) {
	a, err := f.Store.GetArticle(ctx, slug)
	return a, errors.Join(err, f.err("GetArticle"))
}

func (f faulty) ListArticles(ctx context.Context, q article.Query) ([]article.Article, error) {
	as, err := f.Store.ListArticles(ctx, q)
	return as, errors.Join(err, f.err("ListArticles"))
}

func (f faulty) CountArticles(ctx context.Context, q article.Query) (int, error) {
	n, err := f.Store.CountArticles(ctx, q)
	return n, errors.Join(err, f.err("CountArticles"))
}

func (f faulty) ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error) {
	tc, err := f.Store.ListTags(ctx, now)
	return tc, errors.Join(err, f.err("ListTags"))
}

func (f faulty) GetTag(ctx context.Context, slug string) (article.Tag, error) {
	tg, err := f.Store.GetTag(ctx, slug)
	return tg, errors.Join(err, f.err("GetTag"))
}

func (f faulty) FileArticles(ctx context.Context) ([]article.FileRecord, error) {
	fr, err := f.Store.FileArticles(ctx)
	return fr, errors.Join(err, f.err("FileArticles"))
}

func (f faulty) ArticlesGeneration(ctx context.Context) (int64, error) {
	g, err := f.Store.ArticlesGeneration(ctx)
	return g, errors.Join(err, f.err("ArticlesGeneration"))
}

func (f faulty) NextPublication(ctx context.Context, t time.Time) (time.Time, bool, error) {
	n, ok, err := f.Store.NextPublication(ctx, t)
	return n, ok, errors.Join(err, f.err("NextPublication"))
}

func (f faulty) ListAllArticles(ctx context.Context, lf article.ListFilter) ([]article.Article, error) {
	as, err := f.Store.ListAllArticles(ctx, lf)
	return as, errors.Join(err, f.err("ListAllArticles"))
}

func (f faulty) ArticleStateCounts(ctx context.Context, now time.Time) (map[string]int, error) {
	m, err := f.Store.ArticleStateCounts(ctx, now)
	return m, errors.Join(err, f.err("ArticleStateCounts"))
}

func (f faulty) CreateArticleFreeSlug(ctx context.Context, a *article.Article, now time.Time) error {
	return errors.Join(f.Store.CreateArticleFreeSlug(ctx, a, now), f.err("CreateArticleFreeSlug"))
}

func (f faulty) FixFeedAuthority(ctx context.Context, authority string) (string, error) {
	auth, err := f.Store.FixFeedAuthority(ctx, authority)
	return auth, errors.Join(err, f.err("FixFeedAuthority"))
}

func (f faulty) FeedChanged(ctx context.Context, tags []string, now time.Time) (time.Time, error) {
	c, err := f.Store.FeedChanged(ctx, tags, now)
	return c, errors.Join(err, f.err("FeedChanged"))
}

func (f faulty) TokenKey(ctx context.Context) ([]byte, error) {
	k, err := f.Store.TokenKey(ctx)
	return k, errors.Join(err, f.err("TokenKey"))
}

func (f faulty) SetServingKeyPrints(ctx context.Context, prints []string) error {
	return errors.Join(f.Store.SetServingKeyPrints(ctx, prints), f.err("SetServingKeyPrints"))
}

func (f faulty) ServingKeyPrints(ctx context.Context) ([]string, bool, error) {
	p, ok, err := f.Store.ServingKeyPrints(ctx)
	return p, ok, errors.Join(err, f.err("ServingKeyPrints"))
}

func (f faulty) PlanRun(ctx context.Context, req digest.PlanRequest, compose digest.ComposeFunc) (*digest.Run, error) {
	r, err := f.Store.PlanRun(ctx, req, compose)
	return r, errors.Join(err, f.err("PlanRun"))
}

func (f faulty) RunArticleSpans(ctx context.Context, runIDs []int64) (map[int64][2]time.Time, error) {
	m, err := f.Store.RunArticleSpans(ctx, runIDs)
	return m, errors.Join(err, f.err("RunArticleSpans"))
}

func openFaulty(t *testing.T, fail string) faulty {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return faulty{Store: s, fail: fail}
}

// runAll runs on the faulty backend every suite that calls the method
// fail (all of them when fail is empty).
func runAll(t *testing.T, fail string) {
	uses := func(iface any) bool {
		_, ok := reflect.TypeOf(iface).Elem().MethodByName(fail)
		return fail == "" || ok
	}
	if uses((*storetest.ArticleStore)(nil)) {
		storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return openFaulty(t, fail) })
	}
	if uses((*storetest.FeedStore)(nil)) {
		storetest.RunFeeds(t, func(t *testing.T) storetest.FeedStore { return openFaulty(t, fail) })
	}
	if uses((*storetest.SecretStore)(nil)) {
		storetest.RunSecrets(t, func(t *testing.T) storetest.SecretStore { return openFaulty(t, fail) })
	}
	if uses((*storetest.ArchiveStore)(nil)) {
		storetest.RunArchive(t, func(t *testing.T) storetest.ArchiveStore { return openFaulty(t, fail) })
	}
}

// TestFaultyBackend runs the suite on the faulty backend; it only runs in
// the child process of TestSuiteCatchesErrors, where it must fail.
func TestFaultyBackend(t *testing.T) {
	fail := os.Getenv(failEnv)
	if fail == "" {
		t.Skip("runs only as the child of TestSuiteCatchesErrors")
	}
	runAll(t, fail)
}

// TestSuiteCatchesErrors checks that the conformance suite fails a backend
// any one of whose methods returns an error, whatever result it returns
// beside it: no store call's error is ignored.
func TestSuiteCatchesErrors(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		runAll(t, "")
	})
	methods := []string{
		"UpsertArticle", "CreateArticle", "SetRemoved", "DeleteArticle", "GetArticle", "ListArticles",
		"CountArticles", "ListTags", "GetTag", "FileArticles", "ArticlesGeneration", "NextPublication",
		"CreateArticleFreeSlug", "FixFeedAuthority", "FeedChanged", "TokenKey", "SetServingKeyPrints",
		"ServingKeyPrints", "PlanRun", "RunArticleSpans", "ListAllArticles", "ArticleStateCounts",
	}
	for _, m := range methods {
		t.Run("Err"+m, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFaultyBackend$", "-test.count=1")
			cmd.Env = append(os.Environ(), failEnv+"="+m)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a backend whose %s fails (err %v):\n%s", m, err, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestFaultyBackend") {
				t.Fatalf("child did not fail on the suite:\n%s", out)
			}
		})
	}
}
