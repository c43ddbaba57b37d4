"""Model downloads that run in the background while a page watches them: one job per model on this machine, seen
(progress, cancel) from every page that asks, whichever page started it. The work is installs.install, the same
code as `hearth models pull`; a job started with use=True also switches to the model once it is in."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Iterator

from app.services import installs
from app.services.downloads import Progress
from core.errors import HearthError

__all__ = ["InstallJob", "InstallJobs"]

log = logging.getLogger(__name__)


@dataclass
class InstallJob:
    """One download: where it stands (progress), and how it ended (result, or error with the fix)."""
    name: str
    use: bool = False
    progress: Progress | None = None
    result: dict | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return not self.finished.is_set()


class InstallJobs:
    """The downloads under way for one Hearth (shared by its pages, like the models folder)."""

    def __init__(self, hearth):
        self.hearth = hearth
        self._jobs: dict[str, InstallJob] = {}
        self._lock = threading.Lock()

    def start(self, name: str, *, use: bool = False) -> tuple[InstallJob, bool]:
        """Start downloading a registry model in the background; a download of it under way is returned instead.
        Returns the job and whether this call started it."""
        with self._lock:
            job = self._jobs.get(name)
            if job is not None and job.running:
                return job, False
            job = self._jobs[name] = InstallJob(name, use=use)
        threading.Thread(target=self._run, args=(job,), name=f"hearth-download-{name}", daemon=True).start()
        return job, True

    def _run(self, job: InstallJob) -> None:
        try:
            result = installs.install(self.hearth, job.name, cancel=job.cancel,
                                      progress=lambda p: setattr(job, "progress", p))
            if job.use and result["in_use"] is None:
                used = installs.use(self.hearth, job.name)
                result = {**result, "in_use": used["kind"]}
            job.result = result
        except HearthError as e:
            job.error = str(e)
        except Exception as e:  # a bug must still end the job with a message, not leave the page waiting
            log.exception("installing %s failed", job.name)
            job.error = f"{job.name} could not be installed ({e.__class__.__name__}: {e}); see `hearth doctor`."
        finally:
            job.finished.set()

    def get(self, name: str) -> InstallJob | None:
        return self._jobs.get(name)

    def running(self) -> list[InstallJob]:
        return [job for job in list(self._jobs.values()) if job.running]

    def cancel(self, name: str | None = None) -> list[str]:
        """Stop a download (or every one under way); what arrived is kept and the next install resumes it."""
        jobs = [job for job in self.running() if name is None or job.name == name]
        for job in jobs:
            job.cancel.set()
        return [job.name for job in jobs]

    @staticmethod
    def watch(job: InstallJob, every_s: float = 0.5) -> Iterator[InstallJob]:
        """The job now, again every every_s seconds while it runs, and once more when it has ended."""
        yield job
        while not job.finished.wait(every_s):
            yield job
        yield job
