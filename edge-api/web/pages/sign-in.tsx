/** @jsxImportSource hono/jsx */
/** C2 sign-in: email and password → POST /v1/session (sets the HttpOnly cookie) → the next page. */

export function signInPage(next: string): string {
  const html = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Sign in · Petrel</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <script src="/assets/app.js" defer />
      </head>
      <body class="signin">
        <main id="main">
          <h1>Sign in to Petrel</h1>
          <form data-api="/v1/session" data-method="POST" data-then={`goto:${next}`}>
            <label>
              Email
              <input name="email" type="email" autocomplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autocomplete="current-password" required />
            </label>
            <p class="error" role="alert" data-role="error" />
            <button type="submit">Sign in</button>
          </form>
        </main>
      </body>
    </html>
  );
  return `<!doctype html>${html}`;
}
