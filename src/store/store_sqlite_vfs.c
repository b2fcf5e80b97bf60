/*
 * store_sqlite_vfs.c - the SQLite backend's VFS: SQLite's own ("unix"), except
 * that a connection's writes to the write-ahead log are gathered and handed
 * to the file in writes of up to 124 KiB.
 *
 * SQLite writes every WAL frame with two pwrite calls, its 24-byte header and
 * then its page, each at an offset that is not page-aligned, so each call
 * dirties one or two page-cache pages of its own. A group commit of a hundred
 * frames made two hundred system calls; one write of the same bytes costs a
 * quarter of the CPU (measured on these machines: 4.1 against 0.9 µs a frame,
 * fdatasync included). The bytes, their order and their offsets are SQLite's.
 *
 * What may be pending (written by SQLite, not yet handed to the file) is only
 * ever what the connection wrote since it last took the WAL's write lock, and
 * it is handed over before anyone else could read it or write there:
 *   - at the end of each commit frame (a header whose commit size is not 0,
 *     then its page), before SQLite publishes the frames to readers, whatever
 *     the synchronous mode;
 *   - before xSync, xTruncate, xFileSize and xClose, and before a read that
 *     overlaps it only in part (a read inside it is answered from it);
 *   - before the connection releases the WAL's write lock (xShmLock on its
 *     database file), so the frames of a transaction rolled back after it
 *     spilled pages reach the file as they would without this VFS, while no
 *     other writer can write there;
 *   - when the buffer is full or a write does not continue it.
 * A write inside the pending bytes (SQLite rewrites a frame of the current
 * transaction in place when a spilled page changes again) lands in the buffer.
 * A WAL whose database file is not found gathers nothing: every write goes
 * straight to the file.
 *
 * SQLite provides no such mode (its WAL writer calls xWrite frame part by frame
 * part), so this is written by hand; every other method is SQLite's own.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"
#include "util.h"
#include "banned.h"

#define VFS_NAME "innbocks"
/* SQLite's unix VFS hands at most 128 KiB - 1 to one pwrite(2) (it masks
 * larger sizes), so a connection gathers up to 124 KiB, 30 frames of 4 KiB
 * pages, and writes them in one call. */
#define WAL_BUFFER_BYTES (124 * 1024)
#define WAL_FRAME_HEADER_BYTES 24 /* SQLite's WAL_FRAME_HDRSIZE */
#define WAL_WRITE_LOCK 0          /* SQLite's shm lock slot of the WAL writer */

/* A file this VFS opened: SQLite's own file follows it in the same memory. */
struct vfs_file {
	sqlite3_file base; /* first: SQLite sees this */
	sqlite3_file *real;
	/* A main database file: its name as SQLite passed it (the identity its
	 * WAL finds it by), its connection's WAL once open, and the list of
	 * open database files. */
	const char *db_name;
	struct vfs_file *wal;
	struct vfs_file *next;
	/* A WAL: whether it gathers (its database file was found), the
	 * database file while open, and the bytes [at, at + len) of buf
	 * (allocated at the first write) not yet handed to the file. */
	bool gathering;
	struct vfs_file *db;
	char *buf;
	size_t len;
	sqlite3_int64 at;
	bool commit_frame; /* the header just written ends a commit */
};

/* SQLite's file sits after ours, aligned for anything. */
#define REAL_OFFSET ((sizeof(struct vfs_file) + 15) & ~(size_t)15)

static sqlite3_vfs *base_vfs;
static sqlite3_vfs vfs;
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER; /* guards open_dbs and the links */
static struct vfs_file *open_dbs;

/* Hands the pending bytes to the file; SQLITE_OK or SQLite's error, after
 * which they are dropped: the transaction they belong to fails with it. */
static int wal_flush(struct vfs_file *f)
{
	if (f->len == 0)
		return SQLITE_OK;
	int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->at);
	f->len = 0;
	return rc;
}

static int vfs_close(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = wal_flush(f);
	free(f->buf);
	pthread_mutex_lock(&open_mu);
	if (f->db)
		f->db->wal = NULL;
	if (f->wal)
		f->wal->db = NULL;
	for (struct vfs_file **p = &open_dbs; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			break;
		}
	}
	pthread_mutex_unlock(&open_mu);
	int rc_close = f->real->pMethods->xClose(f->real);
	return rc != SQLITE_OK ? rc : rc_close;
}

static int vfs_read(sqlite3_file *file, void *out, int n, sqlite3_int64 at)
{
	struct vfs_file *f = (struct vfs_file *)file;
	if (f->len) {
		sqlite3_int64 end = f->at + (sqlite3_int64)f->len;
		if (at >= f->at && at + n <= end) {
			memcpy(out, f->buf + (at - f->at), (size_t)n);
			return SQLITE_OK;
		}
		if (at < end && at + n > f->at) {
			int rc = wal_flush(f);
			if (rc != SQLITE_OK)
				return rc;
		}
	}
	return f->real->pMethods->xRead(f->real, out, n, at);
}

/* Gathers a write of the WAL; see the top of the file for when it is handed on. */
static int wal_write(struct vfs_file *f, const void *data, int n, sqlite3_int64 at)
{
	if (!f->buf) {
		f->buf = malloc(WAL_BUFFER_BYTES);
		if (!f->buf)
			die("out of memory");
	}
	sqlite3_int64 end = f->at + (sqlite3_int64)f->len;
	if (f->len && at >= f->at && at + n <= end) {
		memcpy(f->buf + (at - f->at), data, (size_t)n);
	} else if (f->len && at == end && f->len + (size_t)n <= WAL_BUFFER_BYTES) {
		memcpy(f->buf + f->len, data, (size_t)n);
		f->len += (size_t)n;
	} else {
		int rc = wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if ((size_t)n > WAL_BUFFER_BYTES)
			return f->real->pMethods->xWrite(f->real, data, n, at);
		memcpy(f->buf, data, (size_t)n);
		f->at = at;
		f->len = (size_t)n;
	}
	if (n == WAL_FRAME_HEADER_BYTES) {
		/* Bytes 4-7 of a frame header: the database size after a commit, 0 otherwise. */
		const unsigned char *h = data;
		f->commit_frame = (h[4] | h[5] | h[6] | h[7]) != 0;
		return SQLITE_OK;
	}
	if (f->commit_frame) {
		f->commit_frame = false;
		return wal_flush(f);
	}
	return SQLITE_OK;
}

static int vfs_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 at)
{
	struct vfs_file *f = (struct vfs_file *)file;
	if (f->gathering)
		return wal_write(f, data, n, at);
	return f->real->pMethods->xWrite(f->real, data, n, at);
}

static int vfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int vfs_sync(sqlite3_file *file, int flags)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int vfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int vfs_lock(sqlite3_file *file, int level)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xLock(real, level);
}

static int vfs_unlock(sqlite3_file *file, int level)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xUnlock(real, level);
}

static int vfs_check_reserved_lock(sqlite3_file *file, int *out)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xCheckReservedLock(real, out);
}

static int vfs_file_control(sqlite3_file *file, int op, void *arg)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xFileControl(real, op, arg);
}

static int vfs_sector_size(sqlite3_file *file)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xSectorSize(real);
}

static int vfs_device_characteristics(sqlite3_file *file)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xDeviceCharacteristics(real);
}

static int vfs_shm_map(sqlite3_file *file, int region, int size, int extend,
		       void volatile **out)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xShmMap(real, region, size, extend, out);
}

/* Before the connection lets go of the WAL's write lock, what it wrote
 * reaches the file. The lock is let go even when that fails (SQLite does
 * not look at an unlock's result): what was pending then belonged to a
 * transaction that did not commit, whose frames nothing reads. */
static int vfs_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = SQLITE_OK;
	if (f->wal && offset == WAL_WRITE_LOCK &&
	    flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE))
		rc = wal_flush(f->wal);
	int rc_lock = f->real->pMethods->xShmLock(f->real, offset, n, flags);
	return rc_lock != SQLITE_OK ? rc_lock : rc;
}

static void vfs_shm_barrier(sqlite3_file *file)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	real->pMethods->xShmBarrier(real);
}

static int vfs_shm_unmap(sqlite3_file *file, int delete_flag)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xShmUnmap(real, delete_flag);
}

static int vfs_fetch(sqlite3_file *file, sqlite3_int64 at, int n, void **out)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xFetch(real, at, n, out);
}

static int vfs_unfetch(sqlite3_file *file, sqlite3_int64 at, void *p)
{
	sqlite3_file *real = ((struct vfs_file *)file)->real;
	return real->pMethods->xUnfetch(real, at, p);
}

static const sqlite3_io_methods io_methods = {
	.iVersion = 3,
	.xClose = vfs_close,
	.xRead = vfs_read,
	.xWrite = vfs_write,
	.xTruncate = vfs_truncate,
	.xSync = vfs_sync,
	.xFileSize = vfs_file_size,
	.xLock = vfs_lock,
	.xUnlock = vfs_unlock,
	.xCheckReservedLock = vfs_check_reserved_lock,
	.xFileControl = vfs_file_control,
	.xSectorSize = vfs_sector_size,
	.xDeviceCharacteristics = vfs_device_characteristics,
	.xShmMap = vfs_shm_map,
	.xShmLock = vfs_shm_lock,
	.xShmBarrier = vfs_shm_barrier,
	.xShmUnmap = vfs_shm_unmap,
	.xFetch = vfs_fetch,
	.xUnfetch = vfs_unfetch,
};

/* Links a WAL to its database file, found by the name SQLite derived the
 * WAL's from; called with open_mu held. */
static void wal_link(struct vfs_file *f, const char *name)
{
	const char *db_name = sqlite3_filename_database(name);
	for (struct vfs_file *d = open_dbs; d; d = d->next) {
		if (d->db_name == db_name && !d->wal) {
			d->wal = f;
			f->db = d;
			f->gathering = true;
			return;
		}
	}
}

static int vfs_open(sqlite3_vfs *self, const char *name, sqlite3_file *file, int flags,
		    int *out_flags)
{
	(void)self;
	struct vfs_file *f = (struct vfs_file *)file;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)((char *)file + REAL_OFFSET);
	int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
	if (f->real->pMethods && f->real->pMethods->iVersion < io_methods.iVersion)
		die("SQLite's default VFS has file methods of version %d, not %d",
		    f->real->pMethods->iVersion, io_methods.iVersion);
	/* SQLite closes a file whose methods are set, even when the open failed. */
	f->base.pMethods = f->real->pMethods ? &io_methods : NULL;
	if (rc != SQLITE_OK || !name)
		return rc;
	pthread_mutex_lock(&open_mu);
	if (flags & SQLITE_OPEN_MAIN_DB) {
		f->db_name = name;
		f->next = open_dbs;
		open_dbs = f;
	} else if (flags & SQLITE_OPEN_WAL) {
		wal_link(f, name);
	}
	pthread_mutex_unlock(&open_mu);
	return rc;
}

/* The rest is SQLite's default VFS, called with itself. */
static int vfs_delete(sqlite3_vfs *self, const char *name, int sync_dir)
{
	(void)self;
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *self, const char *name, int flags, int *out)
{
	(void)self;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *self, const char *name, int n, char *out)
{
	(void)self;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *self, const char *name)
{
	(void)self;
	return base_vfs->xDlOpen(base_vfs, name);
}

static void vfs_dl_error(sqlite3_vfs *self, int n, char *out)
{
	(void)self;
	base_vfs->xDlError(base_vfs, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *self, void *handle, const char *symbol))(void)
{
	(void)self;
	return base_vfs->xDlSym(base_vfs, handle, symbol);
}

static void vfs_dl_close(sqlite3_vfs *self, void *handle)
{
	(void)self;
	base_vfs->xDlClose(base_vfs, handle);
}

static int vfs_randomness(sqlite3_vfs *self, int n, char *out)
{
	(void)self;
	return base_vfs->xRandomness(base_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *self, int microseconds)
{
	(void)self;
	return base_vfs->xSleep(base_vfs, microseconds);
}

static int vfs_current_time(sqlite3_vfs *self, double *out)
{
	(void)self;
	return base_vfs->xCurrentTime(base_vfs, out);
}

static int vfs_get_last_error(sqlite3_vfs *self, int n, char *out)
{
	(void)self;
	return base_vfs->xGetLastError(base_vfs, n, out);
}

static int vfs_current_time_int64(sqlite3_vfs *self, sqlite3_int64 *out)
{
	(void)self;
	return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static void vfs_register(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs || base_vfs->iVersion < 2)
		die("SQLite has no default VFS of version 2 or later");
	vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)REAL_OFFSET + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = VFS_NAME,
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = vfs_dl_open,
		.xDlError = vfs_dl_error,
		.xDlSym = vfs_dl_sym,
		.xDlClose = vfs_dl_close,
		.xRandomness = vfs_randomness,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_get_last_error,
		.xCurrentTimeInt64 = vfs_current_time_int64,
	};
	if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK)
		die("cannot register the SQLite VFS " VFS_NAME);
}

const char *store_sqlite_vfs_name(void)
{
	pthread_once(&vfs_once, vfs_register);
	return VFS_NAME;
}
