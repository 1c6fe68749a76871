// The npm getstream client against the site's Stream API endpoint.
// Run by tests/test_stream_api_js.py, which starts the live server and
// passes the URL, key and tokens in the environment; prints one JSON
// object with what each call answered, for the test to check.
"use strict";

const { connect } = require("getstream");

const env = process.env;
const options = { urlOverride: { api: `${env.API_URL}/api/` }, keepAlive: false };
const out = {};

async function failure(promise) {
  try {
    await promise;
    return { ok: true };
  } catch (e) {
    return { ok: false, status: e.response ? e.response.status : null, body: e.error || null };
  }
}

async function main() {
  // Client-side mode: no secret, feed tokens signed by the site.
  const client = connect(env.API_KEY, null, env.APP_ID, options);
  const timelineRead = client.feed("timeline", env.BOB, env.TIMELINE_READ_TOKEN);
  out.timeline = await timelineRead.get({ limit: 1 });
  const after = new URLSearchParams(out.timeline.next.split("?")[1]);
  out.timelineNext = out.timeline.next;
  out.timelinePage2 = await timelineRead.get({ limit: 1, id_lt: after.get("id_lt") });

  const userFeed = client.feed("user", env.BOB, env.USER_TOKEN);
  out.added = await userFeed.addActivity({
    actor: `auth.User:${env.BOB}`,
    verb: "tweet",
    object: env.TWEET,
    foreign_id: "js:1",
    time: new Date("2026-06-01T12:00:00.123Z").toISOString(),
    client: "js",
  });
  out.addedMany = await userFeed.addActivities([
    { actor: `auth.User:${env.BOB}`, verb: "post", object: "o:1", foreign_id: "js:2" },
    { actor: `auth.User:${env.BOB}`, verb: "post", object: "o:2", foreign_id: "js:3" },
  ]);
  out.removed = await userFeed.removeActivity({ foreignId: "js:3" });
  out.removedById = await userFeed.removeActivity(out.addedMany.activities[0].id);

  const timelineWrite = client.feed("timeline", env.BOB, env.TIMELINE_WRITE_TOKEN);
  out.follow = await timelineWrite.follow("user", env.CAROL, { limit: 10 });
  out.following = await timelineWrite.following({ limit: 10 });
  out.followingFiltered = await timelineWrite.following({ filter: [`user:${env.CAROL}`] });
  out.followers = await client.feed("user", env.CAROL, env.CAROL_READ_TOKEN).followers();
  out.afterFollow = await timelineRead.get({ limit: 25 });
  out.followStats = await client.feed("user", env.CAROL, env.CAROL_READ_TOKEN).followStats();
  out.unfollow = await timelineWrite.unfollow("user", env.CAROL, { keepHistory: true });
  out.detail = await timelineRead.getActivityDetail(out.afterFollow.results[0].id);

  const notification = client.feed("notification", env.BOB, env.NOTIFICATION_TOKEN);
  out.notification = await notification.get({ mark_seen: true });
  out.notificationAfterSeen = await notification.get({ limit: 0 });
  out.notificationRead = await notification.get({ mark_read: [out.notification.results[0].id] });
  out.notificationAfterRead = await notification.get();

  // A token for another feed: 403, nothing stored.
  const wrong = client.feed("user", env.BOB, env.ANN_USER_TOKEN);
  out.wrongFeed = await failure(wrong.addActivity({ actor: "x", verb: "post", object: "o", foreign_id: "js:wrong" }));
  const readOnly = client.feed("timeline", env.BOB, env.TIMELINE_READ_TOKEN);
  out.readOnlyFollow = await failure(readOnly.follow("user", env.ANN));
  const badSignature = client.feed("user", env.BOB, env.FORGED_TOKEN);
  out.badSignature = await failure(badSignature.get());
  const badKey = connect("no-such-key", null, env.APP_ID, options).feed("user", env.BOB, env.USER_TOKEN);
  out.badKey = await failure(badKey.get());

  // A user token: that user's feeds, nothing else.
  const asBob = connect(env.API_KEY, env.BOB_USER_TOKEN, env.APP_ID, options);
  out.userTokenRead = await asBob.feed("user", env.BOB).get({ withOwnReactions: true, withReactionCounts: true });
  out.userTokenOther = await failure(asBob.feed("user", env.ANN).addActivity({ verb: "post", object: "o", foreign_id: "js:ann" }));
  out.reactions = await failure(asBob.reactions.add("like", out.added.id));

  // Server side (Node.js with the secret): the batch and activity routes.
  const server = connect(env.API_KEY, env.API_SECRET, env.APP_ID, options);
  out.followMany = await server.followMany([{ source: `timeline:${env.DAN}`, target: `user:${env.CAROL}` }], 5);
  out.danTimeline = await server.feed("timeline", env.DAN).get({ limit: 25 });
  out.unfollowMany = await server.unfollowMany([{ source: `timeline:${env.DAN}`, target: `user:${env.CAROL}` }]);
  out.addToMany = await server.addToMany({ actor: "site", verb: "announce", object: "o:9" }, [`user:${env.DAN}`, "topic:js"]);
  out.getActivities = await server.getActivities({ ids: [out.added.id] });
  out.getByForeignId = await server.getActivities({
    foreignIDTimes: [{ foreignID: "js:1", time: "2026-06-01T12:00:00.123000" }],
  });
  out.partial = await server.activityPartialUpdate({ id: out.added.id, set: { "meta.lang": "en" }, unset: ["client"] });
  const updated = { ...out.getActivities.results[0], text: "edited" };
  delete updated.id;
  delete updated.origin;
  delete updated.duration;
  out.update = await server.updateActivities([updated]);
  out.afterUpdate = await server.getActivities({ ids: [out.added.id] });
}

main().then(
  () => process.stdout.write(JSON.stringify(out)),
  (e) => {
    process.stderr.write(`${e.stack || e}\n${e.error ? JSON.stringify(e.error) : ""}\n`);
    process.exit(1);
  },
);
