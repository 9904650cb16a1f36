// A GitHub receiver as @octokit/webhooks' README writes one: createNodeMiddleware on a plain
// http server, handlers per event. Correct: it also processes each X-GitHub-Delivery once
// (GitHub redelivers with the same id) and says how often on GET /effects?key=<delivery id>.
//
//   GITHUB_WEBHOOK_SECRET=... node github_receiver.mjs PORT [no-dedupe|head-commit]
//
// Flaws: "no-dedupe" processes every redelivery again; "head-commit" reads
// payload.head_commit.id (GitHub sends "head_commit": null when a push deletes a branch),
// which throws, and the middleware answers 500.
import http from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const [port, flaw] = process.argv.slice(2);
const webhooks = new Webhooks({ secret: process.env.GITHUB_WEBHOOK_SECRET });
const processed = new Map(); // delivery id -> times processed

webhooks.onAny(({ id }) => {
  if (flaw !== "no-dedupe" && processed.has(id)) return;
  processed.set(id, (processed.get(id) ?? 0) + 1);
});
webhooks.on("push", ({ payload }) => {
  const commit = flaw === "head-commit" ? payload.head_commit.id : payload.head_commit?.id;
  return commit;
});
webhooks.on("pull_request.opened", ({ payload }) => {
  // an unusable payload is logged and dropped: a throw here would be the middleware's 500
  const title = payload.pull_request?.title;
  if (typeof title !== "string") console.error(`pull_request.opened without a title`);
});

const middleware = createNodeMiddleware(webhooks, { path: "/github" });
http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://localhost");
  if (request.method === "GET" && url.pathname === "/effects") {
    const count = processed.get(url.searchParams.get("key")) ?? 0;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ count }));
    return;
  }
  if (!(await middleware(request, response))) {
    response.writeHead(404);
    response.end();
  }
}).listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
