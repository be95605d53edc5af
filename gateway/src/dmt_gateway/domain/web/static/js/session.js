// The signed-in user and their tokens. The pair is kept in localStorage so a reload or a second
// tab stays signed in; refreshing rotates the refresh token and the server ends the whole sign-in
// when an old one is used again, so tabs refresh one at a time (a Web Lock where the browser has
// one) and each tab takes the pair another tab stored rather than refreshing with a used token.

const KEY = "dmt.session";
const listeners = new Set();
let refreshing = null;

function read() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) || "null");
    return value && value.access_token && value.refresh_token && value.user ? value : null;
  } catch {
    return null;
  }
}

function store(answer) {
  const value = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    // A minute's margin: the page refreshes a little before the server would refuse the token.
    expires_at: Date.now() + (Number(answer.expires_in) - 60) * 1000,
    user: answer.user,
  };
  localStorage.setItem(KEY, JSON.stringify(value));
  return value;
}

export function current() {
  return read();
}

export function user() {
  return read()?.user ?? null;
}

export function role() {
  return user()?.role ?? null;
}

/** Called with the reason ("expired", "signed-out") when this tab is no longer signed in. */
export function onSignedOut(listener) {
  listeners.add(listener);
}

function signedOut(reason) {
  localStorage.removeItem(KEY);
  for (const listener of listeners) listener(reason);
}

// Another tab signed out (or in as someone else): follow it.
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  if (!event.newValue) for (const listener of listeners) listener("signed-out");
});

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { response, data };
}

/** Signs in; answers the stored session, or throws {status, detail, retryAfter}. */
export async function signIn(username, password) {
  const { response, data } = await post("/api/v1/auth/login", { username, password });
  if (!response.ok) {
    const error = new Error(data?.detail || response.statusText);
    error.status = response.status;
    error.detail = data?.detail;
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return store(data);
}

export async function signOut() {
  const session = read();
  localStorage.removeItem(KEY);
  if (session) await post("/api/v1/auth/logout", { refresh_token: session.refresh_token }).catch(() => null);
  for (const listener of listeners) listener("signed-out");
}

/** Keeps the stored user in step after the profile changed (language, time zone, name). */
export function updateUser(fields) {
  const session = read();
  if (!session) return;
  session.user = { ...session.user, ...fields };
  localStorage.setItem(KEY, JSON.stringify(session));
}

async function refreshNow(usedToken) {
  const session = read();
  if (!session) return null;
  // Another tab refreshed while this one waited: its pair is the good one.
  if (session.access_token !== usedToken && session.expires_at > Date.now()) return session;
  const { response, data } = await post("/api/v1/auth/refresh", { refresh_token: session.refresh_token });
  if (response.ok) return store({ ...data, user: data.user || session.user });
  // A tab without Web Locks may have rotated the token a moment ago: take its pair if there is one.
  const again = read();
  if (again && again.refresh_token !== session.refresh_token) return again;
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    signedOut("expired");
    return null;
  }
  const error = new Error(data?.detail || response.statusText);
  error.status = response.status;
  throw error;
}

const LEASE = "dmt.refresh.lease";
const SETTLE_MS = 300;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `task` while no other tab of this site runs one: with a Web Lock where the browser has
 * them (https, or this computer), else with a short lease written in localStorage (a page served
 * over plain http to another host has no Web Locks). Two tabs that refreshed with the same
 * token at once would end the sign-in for both.
 */
async function oneTabAtATime(task) {
  // The tab that refreshed keeps its turn a moment longer: localStorage reaches the other tabs a
  // little after it is written, and a tab reading the old pair would send a used token.
  const settled = (run) =>
    new Promise((resolve, reject) => {
      run(async () => {
        try {
          resolve(await task());
        } catch (error) {
          reject(error);
          return;
        }
        await sleep(SETTLE_MS);
      });
    });
  if (navigator.locks) return settled((turn) => navigator.locks.request("dmt.refresh", turn));
  return settled(async (turn) => {
    const me = `${Date.now()}-${Math.random()}`;
    const holder = () => {
      try {
        return JSON.parse(localStorage.getItem(LEASE) || "null");
      } catch {
        return null;
      }
    };
    for (let tries = 0; tries < 100; tries += 1) {
      const lease = holder();
      if (!lease || lease.until < Date.now()) {
        // A short lease: one left behind by a closed tab holds the others up for 3 s at most.
        localStorage.setItem(LEASE, JSON.stringify({ owner: me, until: Date.now() + 3000 }));
        // Another tab may have written its lease at the same moment: the last write wins.
        await sleep(50);
        if (holder()?.owner === me) {
          try {
            return await turn();
          } finally {
            if (holder()?.owner === me) localStorage.removeItem(LEASE);
          }
        }
      }
      await sleep(50 + Math.random() * 50);
    }
    return turn();
  });
}

/**
 * A new access token after `usedToken` was refused or ran out; null when the sign-in is over
 * (the listeners are told, and the page returns to the sign-in form).
 */
export function refresh(usedToken) {
  if (!refreshing) {
    const task = oneTabAtATime(() => refreshNow(usedToken));
    refreshing = task.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** The access token to send now, refreshed first when it has run out. */
export async function accessToken() {
  const session = read();
  if (!session) return null;
  if (session.expires_at > Date.now()) return session.access_token;
  const fresh = await refresh(session.access_token);
  return fresh?.access_token ?? null;
}
