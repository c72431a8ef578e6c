// The backend's base URL. The preview sets VITE_API_URL; `npm run dev` on its own uses the default.
export const API_URL: string = (import.meta.env.VITE_API_URL as string | undefined) ?? "http://127.0.0.1:8002";
