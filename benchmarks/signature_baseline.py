"""The non-private baseline of `tributary-dev bench-signature`: TF-IDF -> truncated SVD -> nearest
centroid (scikit-learn; c-BTM's clusterer), on the split the benchmark wrote (study-split.json).
Each owner's centroid is the mean of its first n training documents; the anchor's are k-means
centroids of the public training documents; held-out documents go to the nearest centroid.
Prints JSON: per n, each owner's accuracy and public -> anchor."""
import json, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

split = json.load(open(sys.argv[1]))
dims = int(sys.argv[2]) if len(sys.argv) > 2 else 64
read = lambda p: open(p, "rb").read().decode("utf-8", "replace")
owners = [k for k in split if k != "public"]
out = {}
for n in (16, 64, 256):
    train = {o: split[o]["pool"][:n] for o in owners}
    fit_docs = [read(p) for o in owners for p in train[o]] + [read(p) for p in split["public"]["pool"]]
    tfidf = TfidfVectorizer(sublinear_tf=True, max_features=50000, token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    x = tfidf.fit_transform(fit_docs)
    svd = TruncatedSVD(n_components=min(dims, x.shape[1] - 1), random_state=0).fit(x)
    embed = lambda docs: normalize(svd.transform(tfidf.transform([read(p) for p in docs])))
    centroids, labels = [], []
    km = KMeans(n_clusters=8, n_init=10, random_state=0).fit(embed(split["public"]["pool"]))
    centroids += list(normalize(km.cluster_centers_)); labels += ["anchor"] * 8
    for o in owners:
        centroids.append(normalize(embed(train[o]).mean(axis=0, keepdims=True))[0]); labels.append(o)
    c = np.array(centroids)
    acc = {}
    for o in owners + ["public"]:
        held = split[o]["heldOut"]
        if not held: continue
        nearest = (embed(held) @ c.T).argmax(axis=1)
        want = "anchor" if o == "public" else o
        acc[o] = float(np.mean([labels[i] == want for i in nearest]))
    out[n] = {"owners": {o: acc[o] for o in owners}, "publicToAnchor": acc["public"],
              "meanOwner": float(np.mean([acc[o] for o in owners])), "minOwner": float(min(acc[o] for o in owners))}
print(json.dumps(out))
